/**
 * The webhook receiver: a bare node:http server on 127.0.0.1 in its own process, so it competes with neither
 * pipeline for an event loop. It answers 200, counts requests per path and records commit-to-delivered latency
 * from the envelope's `timestamp` (set when the event is written, inside the saving transaction). A path can be
 * told to hang before answering, to play a slow receiver. Requests are counted by path without the query; a URL
 * with `?owner=X` (the owners scenario's owned endpoints) is checked to carry an event of owner X. A request whose
 * `webhook-id` the path already received is counted as a duplicate (both pipelines send one id per event).
 */
import { createServer, type ServerResponse } from 'node:http';
import { now } from './lib/config.js';
import { serve } from './lib/ipc.js';

interface PathStats {
  count: number;
  /** Arrival times of the first and last request (wall clock, ms). */
  firstAt: number;
  lastAt: number;
  latencies: number[];
  /** `webhook-id`s received, and requests that repeated one. */
  ids: Set<string>;
  duplicates: number;
}

export interface PathReport {
  count: number;
  /** Requests that repeated a `webhook-id` this path had already received. */
  duplicates: number;
  firstAt: number;
  lastAt: number;
  latencies?: number[];
}

const paths = new Map<string, PathStats>();
/** TCP connections accepted since the last reset (keep-alive at work: about one per sender slot). */
let connections = 0;
/** Requests since the last reset to an `?owner=X` URL whose event is not X's (or not an event). */
let misrouted = 0;
const hangs = new Map<string, number>();
/** Requests held by a hanging path, answered early on `release` or `stop`. */
const held = new Map<ServerResponse, NodeJS.Timeout>();

const answer = (res: ServerResponse) => {
  held.delete(res);
  if (!res.writableEnded) res.writeHead(200).end();
};

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = now();
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const owner = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get('owner');
    let stats = paths.get(path);
    if (!stats) paths.set(path, (stats = { count: 0, firstAt: at, lastAt: at, latencies: [], ids: new Set(), duplicates: 0 }));
    stats.count++;
    stats.lastAt = at;
    const id = req.headers['webhook-id'];
    if (typeof id === 'string') {
      if (stats.ids.has(id)) stats.duplicates++;
      else stats.ids.add(id);
    }
    try {
      const { timestamp, data } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        timestamp?: string;
        data?: { ownerId?: unknown };
      };
      if (timestamp) stats.latencies.push(at - Date.parse(timestamp));
      if (owner !== null && data?.ownerId !== owner) misrouted++;
    } catch {
      // Not an envelope: counted, no latency.
      if (owner !== null) misrouted++;
    }
    const hang = hangs.get(path);
    if (hang)
      held.set(
        res,
        setTimeout(() => answer(res), hang),
      );
    else answer(res);
  });
});
server.keepAliveTimeout = 30_000;
server.on('connection', () => connections++);

serve(
  {
    reset: () => {
      paths.clear();
      connections = 0;
      misrouted = 0;
    },
    connections: () => connections,
    misrouted: () => misrouted,
    report: ({ path, latencies }: { path: string; latencies?: boolean }): PathReport => {
      const s = paths.get(path);
      if (!s) return { count: 0, duplicates: 0, firstAt: 0, lastAt: 0, latencies: latencies ? [] : undefined };
      const { count, duplicates, firstAt, lastAt } = s;
      return { count, duplicates, firstAt, lastAt, latencies: latencies ? s.latencies : undefined };
    },
    /** Requests to the path less its duplicates: the deliveries it has, each once. */
    count: ({ path }: { path: string }) => {
      const s = paths.get(path);
      return s ? s.count - s.duplicates : 0;
    },
    hang: ({ path, ms }: { path: string; ms: number }) => void hangs.set(path, ms),
    /** Stops every hang and answers what is held, so the senders can shut down without waiting. */
    release: () => {
      hangs.clear();
      for (const [res, timer] of held) {
        clearTimeout(timer);
        answer(res);
      }
    },
    stop: async () => {
      for (const [res, timer] of held) {
        clearTimeout(timer);
        answer(res);
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  },
  () =>
    new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve({ port: typeof address === 'object' && address ? address.port : 0 });
      });
    }),
);
