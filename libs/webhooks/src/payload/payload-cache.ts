import { Injectable } from '@nestjs/common';

/** Bytes of payload text kept in memory at most (approximate: string length). */
const MAX_CHARS = 16 * 1024 * 1024;
/**
 * Entries older than this are dropped. The cache serves sends that follow the write closely (the worker of the
 * process that wrote the event; a fan-out's deliveries, which go together); an older event is read back.
 */
const MAX_AGE_MS = 30_000;

/**
 * Recent event payloads by event id, so the worker of the process that wrote an event sends it without reading it
 * back (and a fan-out to several endpoints reads it at most once). Payloads never change after they are written,
 * so a stale entry cannot exist; an entry of a rolled-back event is never asked for and ages out.
 *
 * Bounded by age as well as by size, so what it holds follows the recent rate of events, not the process's
 * history: a worker reads back the payload of every held or retried job (those carry none), and with the size cap
 * alone it kept the last 16 M characters of them for good.
 */
@Injectable()
export class PayloadCache {
  private readonly entries = new Map<string, { payload: string; at: number }>();
  private chars = 0;

  get(eventId: string, now = Date.now()): string | undefined {
    const entry = this.entries.get(eventId);
    return entry && now - entry.at <= MAX_AGE_MS ? entry.payload : undefined;
  }

  set(eventId: string, payload: string, now = Date.now()): void {
    if (payload.length > MAX_CHARS / 16) return;
    this.evict(now);
    if (this.entries.has(eventId)) return;
    this.entries.set(eventId, { payload, at: now });
    this.chars += payload.length;
    this.evict(now);
  }

  /** Drops the oldest entries (Map iteration order is insertion order) while past the age or over the cap. */
  private evict(now: number): void {
    for (const [id, entry] of this.entries) {
      if (this.chars <= MAX_CHARS && now - entry.at <= MAX_AGE_MS) break;
      this.entries.delete(id);
      this.chars -= entry.payload.length;
    }
  }
}
