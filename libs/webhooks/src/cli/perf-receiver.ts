import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The receiver of `perf`: a bare node:http server on 127.0.0.1 (a free port) answering 200 at once, counting each
 * event once by its `webhook-id`, and recording the latency from the event's `timestamp` (set when it was saved) to
 * its arrival.
 */
export class PerfReceiver {
  /** Milliseconds from each event's save to its arrival, in arrival order. */
  readonly latencies: number[] = [];
  /** Requests for an event that had already arrived (a retry after a lost answer). */
  duplicates = 0;
  lastAt = 0;
  private readonly seen = new Set<string>();
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<PerfReceiver> {
    const receiver: PerfReceiver = new PerfReceiver(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          res.writeHead(200).end();
          receiver.note(String(req.headers['webhook-id'] ?? ''), Buffer.concat(chunks).toString('utf8'));
        });
      }),
    );
    await new Promise<void>((resolve, reject) => {
      receiver.server.once('error', reject);
      receiver.server.listen(0, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address}:${port}/perf`;
  }

  /** Events received (each once). */
  get received(): number {
    return this.latencies.length;
  }

  /** Resolves once `count` events have arrived, or false after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.received < count) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private note(id: string, body: string): void {
    if (this.seen.has(id)) {
      this.duplicates++;
      return;
    }
    this.seen.add(id);
    const at = Date.now();
    let saved = at;
    try {
      saved = Date.parse((JSON.parse(body) as { timestamp?: string }).timestamp ?? '') || at;
    } catch {
      // not an envelope: counted with no latency
    }
    this.latencies.push(at - saved);
    this.lastAt = at;
    for (const wake of this.waiters.splice(0)) wake();
  }
}
