/**
 * Group commit: callers hand in one item each and wait for its result. While one batch is being written, the items
 * that arrive meanwhile wait and go together in the next write, so many concurrent callers share one statement
 * (and one commit), and a lone caller waits for nothing extra. The batch size follows the load by itself: the
 * longer a write takes, the more items the next one carries.
 *
 * A batch whose write fails is written again one item at a time, so one bad item fails only its own caller. A
 * failure may come after the batch was written (the answer was lost on the way back): each item's write then gets
 * the same `AfterFailedBatch`, so that writes that look for an earlier landing can tell it to one item only.
 *
 * `gatherTurn`: a first item waits for the rest of the current turn of the event loop (its microtasks included)
 * before it is written, so that what the same turn submits goes with it: an item that frees something and the one
 * that takes it go in one write, with nothing between them.
 */
export interface AfterFailedBatch {
  /** What the batch's write failed with. */
  readonly error: unknown;
  /** Keys (the writer's) of what the items written again so far took: among repeats of one, the first takes it. */
  readonly taken: Set<string>;
}

export class GroupCommit<Item, Result> {
  private readonly waiting: Array<{ item: Item; resolve(result: Result): void; reject(error: Error): void }> = [];
  private writing = false;
  private gathering = false;

  constructor(
    /** Writes many items in one go; answers one result per item, in order. */
    private readonly writeMany: (items: Item[]) => Promise<Result[]>,
    /** Writes one item: a lone item, and each item of a batch that failed as a whole (with `again`). */
    private readonly writeOne: (item: Item, again?: AfterFailedBatch) => Promise<Result>,
    private readonly maxBatch = 200,
    private readonly gatherTurn = false,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.gatherTurn || this.writing) this.flush();
      else if (!this.gathering) {
        this.gathering = true;
        setImmediate(() => {
          this.gathering = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    if (this.writing || this.waiting.length === 0) return;
    this.writing = true;
    const batch = this.waiting.splice(0, this.maxBatch);
    void this.write(batch).finally(() => {
      this.writing = false;
      this.flush();
    });
  }

  private async write(batch: typeof this.waiting): Promise<void> {
    let again: AfterFailedBatch | undefined;
    if (batch.length > 1) {
      try {
        const results = await this.writeMany(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]));
        return;
      } catch (error) {
        // One at a time below: the others are not held back by one failing item.
        again = { error, taken: new Set() };
      }
    }
    for (const b of batch) {
      await this.writeOne(b.item, again).then(
        (result) => b.resolve(result),
        (error: Error) => b.reject(error),
      );
    }
  }
}
