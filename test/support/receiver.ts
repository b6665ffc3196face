import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { noteRequest } from './payload-watch.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver does with one request: answer a status (and body), or drop the connection. */
export type Reply =
  | number
  | { status: number; body?: string; headers?: Record<string, string> }
  /** A body of `bytes` bytes, streamed in 64 KiB chunks as the client reads. */
  | { status: number; streamBytes: number }
  | 'reset'
  | 'hang'
  /** Waits, then answers `then` (a slow receiver that does answer). */
  | { delayMs: number; then: Reply };

/**
 * A real HTTP receiver on 127.0.0.1 with a free port. Replies are consumed in order from `replies`; when the list
 * is empty it answers `fallback` (200).
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  replies: Reply[] = [];
  fallback: Reply = 200;
  /** Decides the reply from the request itself, before `replies` and `fallback` (undefined: those decide). */
  replyFor: ((request: ReceivedRequest) => Reply | undefined) | undefined;
  /** Bytes of the last streamed body handed to the socket (the client stops reading early). */
  streamedBytesWritten: () => number = () => 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private waiters: Array<() => void> = [];

  /** Listens on `host` (a loopback address: 127.0.0.1 by default; Linux routes all of 127.0.0.0/8 to lo). */
  static async start(host = '127.0.0.1'): Promise<Receiver> {
    const receiver = new Receiver();
    await receiver.listen(host);
    return receiver;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    const { port, address } = this.server!.address() as AddressInfo;
    return `http://${address}:${port}/hooks`;
  }

  /** Resolves when at least `count` requests have arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Receiver got ${this.requests.length} requests, expected ${count} within ${timeoutMs} ms.`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private listen(host: string): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.requests.push(request);
        noteRequest(request); // checked against the event catalogue after the file (payload-watch.ts)
        const reply = this.replyFor?.(request) ?? (this.replies.length ? this.replies.shift()! : this.fallback);
        this.answer(reply, res);
        for (const w of this.waiters.splice(0)) w();
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, host, () => resolve());
    });
  }

  private answer(reply: Reply, res: ServerResponse): void {
    if (reply === 'reset') {
      res.socket?.resetAndDestroy();
      return;
    }
    if (reply === 'hang') return; // never answers; the sender's timeout must fire
    if (typeof reply === 'object' && 'delayMs' in reply) {
      const timer = setTimeout(() => !res.destroyed && this.answer(reply.then, res), reply.delayMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (typeof reply === 'object' && 'streamBytes' in reply) {
      res.writeHead(reply.status, { 'content-type': 'text/plain', 'content-length': String(reply.streamBytes) });
      const chunk = Buffer.alloc(65_536, 'x');
      let left = reply.streamBytes;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      res.socket?.on('error', () => undefined);
      pump();
      this.streamedBytesWritten = () => reply.streamBytes - left;
      return;
    }
    const { status, body = '', headers = {} } = typeof reply === 'number' ? { status: reply } : reply;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  }
}
