/**
 * What the orchestrator and its child processes share: the configuration handed to each child, the database
 * connection options, the order entity's columns and the save loop. Both pipelines use these, so they differ only
 * in what happens after the order is saved.
 */
import { performance } from 'node:perf_hooks';
import { Column, PrimaryGeneratedColumn } from 'typeorm';

export type DbKind = 'postgres' | 'mariadb' | 'sqlite';

/** Where one run's tables live: a fresh PostgreSQL schema, MariaDB database or SQLite file. */
export type DbTarget =
  | { kind: 'postgres'; url: string; schema: string }
  | { kind: 'mariadb'; url: string; database: string }
  | { kind: 'sqlite'; file: string; dir: string };

/** Handed to every child process as its first argument (JSON). */
export interface ProcessConfig {
  /** Names the process in logs and in PostgreSQL's `application_name` (so its backends can be told apart). */
  name: string;
  db: DbTarget;
  redisUrl: string;
  /** Bull key prefix, unique per run. */
  prefix: string;
  /** Receiver URLs: ours creates one endpoint per URL, the minimal pipeline sends every event to each. */
  urls: string[];
  /** Jobs one worker process runs at the same time. */
  concurrency: number;
  /** Signing secret of the minimal pipeline (`whsec_` + base64). */
  secret: string;
  /** Key that encrypts ours' secrets at rest (32 bytes, base64). */
  encryptionKey: string;
  /** The owners scenario (ours only): `urls` become the ownerless endpoints, and these owners get endpoints too. */
  owners?: OwnersSetup;
  /** Ours with its Prometheus metrics on (the ours-metrics pipeline). */
  metrics?: boolean;
}

/**
 * Tenants of the owners scenario. Owner k (`tenant-<k>`) owns `ownedEndpoints(k)` endpoints, 1 or 2, all with
 * `url?owner=tenant-<k>` (the receiver checks the event's owner against it). Order i is owned by a random owner
 * of the same parity as i, so every configuration owes the same deliveries per event: the ownerless endpoints and
 * 1 (even i) or 2 (odd i) of the owner's.
 */
export interface OwnersSetup {
  count: number;
  url: string;
}

export const ownerName = (k: number) => `tenant-${k}`;
export const ownedEndpoints = (k: number) => 1 + (k % 2);
/** Endpoints owned by all `count` owners together. */
export const ownedEndpointTotal = (count: number) => count + Math.floor(count / 2);

/** The owner (index) of order i: random, of i's parity (needs count >= 2). */
export function ownerOf(i: number, count: number): number {
  const parity = i % 2;
  const ofParity = Math.floor((count - parity + 1) / 2);
  return parity + 2 * Math.floor(Math.random() * ofParity);
}

export function readConfig(): ProcessConfig {
  return JSON.parse(process.argv[2] ?? '{}') as ProcessConfig;
}

/** TypeORM connection options of a target; entities and synchronize are the caller's. */
export function connectionOptions(target: DbTarget, applicationName: string) {
  switch (target.kind) {
    case 'postgres':
      return { type: 'postgres' as const, url: target.url, schema: target.schema, applicationName };
    case 'mariadb':
      return { type: 'mariadb' as const, url: target.url };
    case 'sqlite':
      // WAL lets the worker processes read while the API writes; the busy timeout (5 s) covers writer turns.
      return { type: 'better-sqlite3' as const, database: target.file, enableWAL: true };
  }
}

/** A date column type that keeps milliseconds on every database. */
export function timestampType(kind: DbKind): 'timestamptz' | 'datetime' {
  return kind === 'postgres' ? 'timestamptz' : 'datetime';
}

/** The order's columns; each pipeline declares its own entity class on top (ours adds @WebhookEntity). */
export abstract class OrderColumns {
  @PrimaryGeneratedColumn() id: number;
  @Column({ type: 'varchar', length: 40 }) status: string;
  @Column({ type: 'decimal', precision: 12, scale: 2 }) total: string;
  @Column({ type: 'varchar', length: 200 }) note: string;
}

/** The i-th order: about 300 bytes of JSON once wrapped in an envelope. */
export function newOrder(i: number): Omit<OrderColumns, 'id'> {
  return { status: 'pending', total: `${i % 100_000}.50`, note: 'x'.repeat(150) };
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface SaveRun {
  count: number;
  concurrency: number;
  /** Saves per second in total; unset: as fast as the savers go. */
  ratePerSec?: number;
}

export interface SaveResult {
  saved: number;
  errors: number;
  firstError?: string;
  startedAt: number;
  endedAt: number;
  /** Paced runs: how far the latest save started behind its schedule (the savers could not keep up). */
  maxLagMs: number;
  /** The owners scenario: deliveries the saved orders owe to owned endpoints (the ownerless ones get every order). */
  owned?: number;
}

/**
 * `concurrency` savers take the next order number until `count` are done. Paced runs give order i the start time
 * startedAt + i / rate (open loop: a slow save does not delay the schedule, up to `concurrency` in flight).
 */
export async function runSavers(save: (i: number) => Promise<unknown>, run: SaveRun): Promise<SaveResult> {
  const startedAt = now();
  const interval = run.ratePerSec ? 1000 / run.ratePerSec : 0;
  const result: SaveResult = { saved: 0, errors: 0, startedAt, endedAt: startedAt, maxLagMs: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: run.concurrency }, async () => {
      while (next < run.count) {
        const i = next++;
        if (interval) {
          const wait = startedAt + i * interval - now();
          if (wait > 0) await sleep(wait);
          else result.maxLagMs = Math.max(result.maxLagMs, -wait);
        }
        try {
          await save(i);
          result.saved++;
        } catch (error) {
          result.errors++;
          result.firstError ??= (error as Error).message;
        }
      }
    }),
  );
  result.endedAt = now();
  return result;
}
