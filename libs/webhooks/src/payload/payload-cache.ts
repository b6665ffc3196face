import { Injectable } from '@nestjs/common';

/** Bytes of payload text kept in memory at most (approximate: string length). */
const MAX_CHARS = 16 * 1024 * 1024;

/**
 * Recent event payloads by event id, so the worker of the process that wrote an event sends it without reading it
 * back (and a fan-out to several endpoints reads it at most once). Payloads never change after they are written,
 * so a stale entry cannot exist; an entry of a rolled-back event is never asked for and ages out.
 */
@Injectable()
export class PayloadCache {
  private readonly entries = new Map<string, string>();
  private chars = 0;

  get(eventId: string): string | undefined {
    return this.entries.get(eventId);
  }

  set(eventId: string, payload: string): void {
    if (payload.length > MAX_CHARS / 16 || this.entries.has(eventId)) return;
    this.entries.set(eventId, payload);
    this.chars += payload.length;
    // Map iteration order is insertion order: evict the oldest first.
    for (const [id, p] of this.entries) {
      if (this.chars <= MAX_CHARS) break;
      this.entries.delete(id);
      this.chars -= p.length;
    }
  }
}
