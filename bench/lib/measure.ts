/**
 * What the orchestrator reads from outside the pipelines: CPU time of the database and Redis servers, Redis
 * memory, and the per-run databases and Bull keys it creates and removes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { DbKind, DbTarget } from './config.js';

const TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  pid: number;
  comm: string;
  /** utime + stime, ms. */
  ownMs: number;
  /** cutime + cstime, ms: CPU of children that exited and were waited for (the postmaster's ended backends). */
  childrenMs: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: the numeric fields start after the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are at 11-14 here, counting from field 3 (state).
    const tick = (i: number) => (Number(fields[i]) * 1000) / TICKS_PER_SEC;
    return { pid, comm, ownMs: tick(11) + tick(12), childrenMs: tick(13) + tick(14) };
  } catch {
    return undefined; // exited meanwhile
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) out.push(stat);
  }
  return out;
}

/**
 * CPU ms used so far by every process named `names` on the machine, including children they reaped (so a
 * PostgreSQL backend that ends mid-run still counts, through the postmaster). Tick resolution: 10 ms at 100 Hz.
 */
export function serverCpuMs(names: readonly string[]): number {
  let ms = 0;
  for (const s of allStats()) if (names.includes(s.comm)) ms += s.ownMs + s.childrenMs;
  return ms;
}

/** utime + stime of the given processes, ms, by pid (missing: exited). */
export function pidCpuMs(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) out.set(pid, s.ownMs);
  }
  return out;
}

/** Names of the database server's processes in /proc; SQLite runs inside the pipeline's own processes. */
export function serverProcessNames(kind: DbKind): string[] {
  if (kind === 'postgres') return ['postgres'];
  if (kind === 'mariadb') return ['mariadbd', 'mysqld'];
  return [];
}

export interface RedisInfo {
  cpuMs: number;
  usedMemory: number;
}

export async function redisInfo(redis: Redis): Promise<RedisInfo> {
  const text = await redis.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return { cpuMs: (field('used_cpu_sys') + field('used_cpu_user')) * 1000, usedMemory: field('used_memory') };
}

/** Keys under a Bull prefix and their MEMORY USAGE in bytes: what the run leaves in Redis, whoever else uses it. */
export async function prefixMemory(redis: Redis, prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  const out = { keys: 0, bytes: 0 };
  for (let page = 0; page < 100_000; page++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    for (const key of keys) {
      out.keys++;
      out.bytes += Number(await redis.memory('USAGE', key)) || 0;
    }
    cursor = next;
    if (cursor === '0') break;
  }
  return out;
}

/** Deletes every key under a Bull prefix. */
export async function removeBullKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  // Bounded: SCAN visits every key once per full cycle; 100,000 pages is far beyond any run.
  for (let page = 0; page < 100_000; page++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) removed += await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return removed;
}

/** Creates and drops the per-run schema (PostgreSQL), database (MariaDB) or file (SQLite). */
export class Databases {
  private constructor(
    readonly kind: DbKind,
    private readonly pgClient: pg.Client | undefined,
    private readonly mariadbUrl: string,
    private readonly postgresUrl: string,
  ) {}

  static async open(kind: DbKind, postgresUrl: string, mariadbUrl: string): Promise<Databases> {
    let client: pg.Client | undefined;
    if (kind === 'postgres') {
      const { default: pgModule } = await import('pg');
      client = new pgModule.Client({ connectionString: postgresUrl, application_name: 'bench-orchestrator' });
      await client.connect();
    }
    return new Databases(kind, client, mariadbUrl, postgresUrl);
  }

  async create(name: string): Promise<DbTarget> {
    if (this.kind === 'postgres') {
      await this.pgClient!.query(`CREATE SCHEMA "${name}"`);
      return { kind: 'postgres', url: this.postgresUrl, schema: name };
    }
    if (this.kind === 'mariadb') {
      await this.mariadb((c) => c.query(`CREATE DATABASE \`${name}\``));
      const url = new URL(this.mariadbUrl);
      url.pathname = `/${name}`;
      return { kind: 'mariadb', url: url.toString(), database: name };
    }
    const dir = mkdtempSync(join(tmpdir(), `${name}-`));
    return { kind: 'sqlite', file: join(dir, 'bench.sqlite'), dir };
  }

  async drop(target: DbTarget): Promise<void> {
    if (target.kind === 'postgres') await this.pgClient!.query(`DROP SCHEMA IF EXISTS "${target.schema}" CASCADE`);
    else if (target.kind === 'mariadb') await this.mariadb((c) => c.query(`DROP DATABASE IF EXISTS \`${target.database}\``));
    else rmSync(target.dir, { recursive: true, force: true });
  }

  /** PostgreSQL backends whose application_name starts with `prefix` (the processes of one run). */
  async backends(prefix: string): Promise<number[]> {
    if (!this.pgClient) return [];
    const { rows } = await this.pgClient.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1', [
      `${prefix}%`,
    ]);
    return rows.map((r) => r.pid);
  }

  /**
   * PostgreSQL: rows of `schema`.`table` updated so far (pg_stat_user_tables; each backend reports at most once a
   * second, or after 10 s idle, so a reading lags the last second or so). Other databases: NaN.
   */
  async rowUpdates(schema: string, table: string): Promise<number> {
    if (!this.pgClient) return NaN;
    const { rows } = await this.pgClient.query<{ n: string }>(
      'SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2',
      [schema, table],
    );
    return Number(rows[0]?.n ?? NaN);
  }

  async close(): Promise<void> {
    await this.pgClient?.end();
  }

  private async mariadb(fn: (c: import('mysql2/promise').Connection) => Promise<unknown>): Promise<void> {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(this.mariadbUrl);
    try {
      await fn(connection);
    } finally {
      await connection.end();
    }
  }
}

/** A short random suffix for names of one run. */
export function runId(): string {
  return randomBytes(4).toString('hex');
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function latencySummary(values: readonly number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}
