/**
 * End-to-end benchmark in the deployment shape: ours (WebhooksModule) against a minimal pipeline (bench/minimal)
 * on the same database, Redis and receiver, run interleaved; the order flips each round (ours, minimal, minimal, ours,
 * ...), so neither pipeline always runs first after a cleanup or last in a drifting machine's slowest moment.
 *
 *   npm run bench -- [--db postgres|sqlite|mariadb] [--events 5000] [--rounds 3] [--workers 1]
 *                    [--scenario throughput|latency|drain|noisy|memory|owners|all] [--json] [--long]
 *                    [--owners 4,10000] [--ownerless 2] [--route-events 200000]
 *
 * Processes, all forked from here and driven over IPC: one API process that saves orders with 10 concurrent
 * savers, N worker processes, and one receiver (node:http on 127.0.0.1). Each run gets a fresh PostgreSQL schema
 * (MariaDB database, SQLite file) and a fresh Bull prefix, removed afterwards. Every wait has a deadline and every
 * child exits with this process. The receiver counts a request that repeats a `webhook-id` it already had on that
 * path as a duplicate; throughput, drain and noisy report them. Scenarios:
 *   throughput  --events saves, deliveries/s from the first save to the last receipt, CPU per event per process,
 *               for the database server and for Redis
 *   latency     saves paced at each of --rates for --latency-seconds; commit-to-delivered percentiles
 *   drain       a backlog of --events saved while no worker runs, then 1 and 2 workers drain it (with the
 *               workers' socket writes per event, which grow when their batches shrink)
 *   noisy       two endpoints, one answering after --hang-ms; the healthy one's latency, against it alone
 *   memory      Redis used_memory per event over the throughput runs; with --long, worker RSS at 10k and 100k
 *   owners      ours only: routing cost against the number of endpoints. (a) the first of --owners (a few) and
 *               (b) the second (10,000) owners own 1 or 2 endpoints each (inserted in bulk), beside --ownerless
 *               ownerless ones; each order has a random owner and owes the same deliveries in (a) and (b). Per
 *               round, (a) and (b) in turn (the order flips each round): recording cost (saves/s, API CPU per
 *               event), deliveries/s, and the routing call timed in the API process (--route-events random owners
 *               against its loaded cache); printed as (b)/(a) per round and their range
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { now, ownedEndpointTotal, sleep, type DbKind, type OwnersSetup, type ProcessConfig, type SaveResult } from './lib/config.js';
import { Child, type ProcessStats, type SocketWrites } from './lib/ipc.js';
import {
  Databases,
  latencySummary,
  pidCpuMs,
  prefixMemory,
  redisInfo,
  removeBullKeys,
  runId,
  serverCpuMs,
  serverProcessNames,
  type Latency,
  type RedisInfo,
} from './lib/measure.js';
import type { RoutingTiming } from './ours/owners.js';
import type { PathReport } from './receiver.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    events: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
    scenario: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
    long: { type: 'boolean', default: false },
    // Worker concurrency of both pipelines (the minimal pipeline's is 50; ours' default, 20, is overridden to match).
    concurrency: { type: 'string', default: '50' },
    savers: { type: 'string', default: '10' },
    // Deliveries before each measurement, so JIT, pools and keep-alive connections are warm.
    warmup: { type: 'string', default: '200' },
    rates: { type: 'string', default: '100,400' },
    'latency-seconds': { type: 'string', default: '10' },
    'noisy-events': { type: 'string', default: '100' },
    'noisy-rate': { type: 'string', default: '50' },
    'hang-ms': { type: 'string', default: '10000' },
    // --long: worker RSS is read when this many deliveries are done (the last is the run's length).
    'long-checkpoints': { type: 'string', default: '10000,100000' },
    // The pipelines run in turn; the tables compare the first with the second. ours-metrics is ours with its
    // Prometheus metrics on (a registry in each process), so `--pipelines ours-metrics,ours` prices them.
    // One pipeline alone is for trying the harness.
    pipelines: { type: 'string', default: 'ours,minimal' },
    // The owners scenario: owners in (a) and (b), ownerless endpoints beside them, events of the routing timing.
    owners: { type: 'string', default: '4,10000' },
    ownerless: { type: 'string', default: '2' },
    'route-events': { type: 'string', default: '200000' },
  },
});

const SCENARIOS = ['throughput', 'latency', 'drain', 'noisy', 'memory', 'owners'] as const;
type Scenario = (typeof SCENARIOS)[number];
const PIPELINE_NAMES = ['ours', 'minimal', 'ours-metrics'] as const;
type Pipeline = (typeof PIPELINE_NAMES)[number];
const PIPELINES = args.pipelines!.split(',') as Pipeline[];
if (
  PIPELINES.length === 0 ||
  PIPELINES.length > 2 ||
  new Set(PIPELINES).size !== PIPELINES.length ||
  PIPELINES.some((p) => !PIPELINE_NAMES.includes(p))
) {
  throw new Error(`--pipelines must list one or two of ${PIPELINE_NAMES.join(', ')} (got ${args.pipelines})`);
}
/** The pipelines of a round, in its order: as given in odd rounds, reversed in even ones. */
const inTurn = (round: number): Pipeline[] => (round % 2 ? PIPELINES : [...PIPELINES].reverse());
/** The tables' two columns: the first pipeline against the second (or the default pair). */
const [FIRST, SECOND] = PIPELINES.length === 2 ? PIPELINES : (['ours', 'minimal'] as const);

const int = (name: keyof typeof args, min = 1): number => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min} (got ${String(args[name])})`);
  return value;
};
const DB = args.db as DbKind;
if (!['postgres', 'sqlite', 'mariadb'].includes(DB)) throw new Error(`--db must be postgres, sqlite or mariadb (got ${DB})`);
const EVENTS = int('events');
const ROUNDS = int('rounds');
const WORKERS = int('workers');
const CONCURRENCY = int('concurrency');
const SAVERS = int('savers');
const WARMUP = int('warmup', 0);
const RATES = args.rates!.split(',').map(Number);
if (RATES.some((r) => !(r > 0))) throw new Error(`--rates must be positive numbers (got ${args.rates})`);
const LATENCY_SECONDS = int('latency-seconds');
const NOISY_EVENTS = int('noisy-events');
const NOISY_RATE = int('noisy-rate');
const HANG_MS = int('hang-ms', 0);
if (args.scenario !== 'all' && !SCENARIOS.includes(args.scenario as Scenario)) {
  throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')} or all (got ${args.scenario})`);
}
const runs = (s: Scenario) => args.scenario === 'all' || args.scenario === s;
const OWNERS = args.owners!.split(',').map(Number);
if (OWNERS.length !== 2 || OWNERS.some((n) => !Number.isInteger(n) || n < 2)) {
  throw new Error(`--owners must be two owner counts, each >= 2: a few, then many (got ${args.owners})`);
}
const OWNERLESS = int('ownerless');
const ROUTE_EVENTS = int('route-events', 100);
const LONG_CHECKPOINTS = args['long-checkpoints']!.split(',').map(Number);
if (LONG_CHECKPOINTS.some((n, i) => !Number.isInteger(n) || n < 1 || (i > 0 && n <= LONG_CHECKPOINTS[i - 1]))) {
  throw new Error(`--long-checkpoints must be increasing delivery counts (got ${args['long-checkpoints']})`);
}

const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const mariadbUrl = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const encryptionKey = randomBytes(32).toString('base64');
const dbLabel = DB === 'postgres' ? 'postgres*' : DB === 'mariadb' ? 'mariadbd*' : '';
const dbNames = serverProcessNames(DB);

let databases: Databases;
let redis: Redis;
let receiver: Child;
let receiverBase = '';
let runNumber = 0;

// ---------------------------------------------------------------------------------------------------------------
// One run's processes

interface Stack {
  pipeline: Pipeline;
  prefix: string;
  config: ProcessConfig;
  api?: Child;
  /** What the API process answered when ready (ours with owners: its owned endpoints and their set-up time). */
  apiInfo?: unknown;
  workers: Child[];
}

const script = (pipeline: Pipeline, role: 'api' | 'worker') =>
  new URL(`./${pipeline === 'minimal' ? 'minimal' : 'ours'}/${role}.js`, import.meta.url);

/**
 * Starts the API process (which creates the tables and, for ours, the endpoints: one per path, ownerless, and with
 * `owners` the owners' too), then `workers` workers.
 */
async function withStack<T>(
  pipeline: Pipeline,
  paths: string[],
  workers: number,
  fn: (stack: Stack) => Promise<T>,
  owners?: OwnersSetup,
): Promise<T> {
  const prefix = `bench_${runId()}`;
  const target = await databases.create(prefix);
  const config: ProcessConfig = {
    name: `${prefix}-api`,
    db: target,
    redisUrl,
    prefix,
    urls: paths.map((p) => receiverBase + p),
    concurrency: CONCURRENCY,
    secret,
    encryptionKey,
    owners,
    metrics: pipeline === 'ours-metrics',
  };
  const stack: Stack = { pipeline, prefix, config, workers: [] };
  try {
    const started = await Child.start(`${pipeline} api`, script(pipeline, 'api'), config, owners ? 300_000 : undefined);
    stack.api = started.child;
    stack.apiInfo = started.info;
    await addWorkers(stack, workers);
    return await fn(stack);
  } finally {
    await Promise.all([...stack.workers, ...(stack.api ? [stack.api] : [])].map((c) => c.stop()));
    await databases.drop(target).catch((e: Error) => console.error(`could not drop ${prefix}: ${e.message}`));
    await removeBullKeys(redis, prefix).catch((e: Error) => console.error(`could not remove the keys of ${prefix}: ${e.message}`));
  }
}

async function addWorkers(stack: Stack, count: number): Promise<void> {
  const first = stack.workers.length + 1;
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const name = `${stack.prefix}-w${first + i}`;
      return Child.start(`${stack.pipeline} worker ${first + i}`, script(stack.pipeline, 'worker'), { ...stack.config, name });
    }),
  );
  stack.workers.push(...started.map((s) => s.child));
}

function children(stack: Stack): Array<[string, Child]> {
  return [['api', stack.api!], ...stack.workers.map((w, i): [string, Child] => [`worker${i + 1}`, w]), ['receiver', receiver]];
}

/** Polls `done` every `everyMs` until it holds or `timeoutMs` passes (false). Fails at once if a process died. */
async function waitUntil(stack: Stack, timeoutMs: number, done: () => Promise<boolean>, everyMs = 100): Promise<boolean> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const dead = children(stack).find(([, c]) => !c.alive);
    if (dead) throw new Error(`${dead[1].name} exited during the run`);
    if (await done()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** Like waitUntil, but a timeout is an error; `what` may be a function, to describe the state at the timeout. */
async function mustWait(
  stack: Stack,
  what: string | (() => string),
  timeoutMs: number,
  done: () => Promise<boolean>,
  everyMs?: number,
): Promise<void> {
  if (await waitUntil(stack, timeoutMs, done, everyMs)) return;
  throw new Error(`${stack.pipeline}: ${typeof what === 'function' ? what() : what} did not happen within ${timeoutMs} ms`);
}

const received = (path: string) => receiver.call<number>('count', { path });
const report = (path: string) => receiver.call<PathReport>('report', { path, latencies: true });

/** Delivery jobs the workers finished (completed or failed). */
async function completedJobs(stack: Stack): Promise<number> {
  const stats = await Promise.all(stack.workers.map((w) => w.stats()));
  return stats.reduce((sum, s) => sum + (s.completed ?? 0) + (s.failed ?? 0), 0);
}

/** Generous bound for `count` deliveries: even at 50/s they finish. */
const deliveryTimeout = (count: number) => 60_000 + count * 20;

/** Deliveries each path is owed once the saves are done; by default every path gets every saved order. */
type Owed = (saves: SaveResult) => number[];

/**
 * Saves `count` orders (optionally paced) and waits until each path received what it is owed and the workers
 * finished the jobs (attempt rows written). Returns the save result.
 */
async function saveAndDeliver(
  stack: Stack,
  paths: string[],
  count: number,
  ratePerSec?: number,
  onPoll?: () => Promise<void>,
  owed: Owed = (s) => paths.map(() => s.saved),
) {
  const base = await completedJobs(stack);
  let saves: SaveResult | undefined;
  let failure: Error | undefined;
  stack
    .api!.call<SaveResult>('save', { count, concurrency: SAVERS, ratePerSec })
    .then((r) => (saves = r))
    .catch((e: Error) => (failure = e));
  const timeout = deliveryTimeout(count) + (ratePerSec ? (count / ratePerSec) * 1000 : 0);
  let counts: number[] = [];
  await mustWait(
    stack,
    () => `delivery of ${count} events (saved ${saves?.saved ?? 'not yet'}, received ${counts.join('+')})`,
    timeout,
    async () => {
      if (failure) throw failure;
      await onPoll?.();
      counts = await Promise.all(paths.map(received));
      if (saves === undefined) return false;
      const expected = owed(saves);
      return counts.every((c, i) => c >= expected[i]);
    },
  );
  if (saves!.saved === 0) throw new Error(`${stack.pipeline}: every save failed: ${saves!.firstError}`);
  const expectedJobs = owed(saves!).reduce((sum, n) => sum + n, 0);
  await mustWait(stack, 'the workers finishing their jobs', 30_000, async () => (await completedJobs(stack)) - base >= expectedJobs, 20);
  if (saves!.errors) console.warn(`  ${saves!.errors} saves failed: ${saves!.firstError}`);
  return saves!;
}

async function warmup(stack: Stack, paths: string[], owed?: Owed): Promise<void> {
  if (WARMUP > 0) await saveAndDeliver(stack, paths, WARMUP, undefined, undefined, owed);
  await receiver.call('reset');
}

// ---------------------------------------------------------------------------------------------------------------
// CPU and memory, read before and after a measured interval

interface Snapshot {
  procs: Map<string, ProcessStats>;
  /** CPU ms of every database server process on the machine. */
  dbMs: number;
  /** CPU ms of this run's PostgreSQL backends, by pid. */
  backends: Map<number, number>;
  redis: RedisInfo;
}

async function snapshot(stack: Stack): Promise<Snapshot> {
  const named = children(stack);
  const stats = await Promise.all(named.map(([, c]) => c.stats()));
  const pids = await databases.backends(stack.prefix);
  return {
    procs: new Map(named.map(([name], i) => [name, stats[i]])),
    dbMs: serverCpuMs(dbNames),
    backends: pidCpuMs(pids),
    redis: await redisInfo(redis),
  };
}

/** CPU ms per event by process ('api', 'worker1', ..., 'receiver'), 'db', 'redis', 'total'; 'dbBackends' aside. */
type Cpu = Record<string, number>;

function cpuPerEvent(a: Snapshot, b: Snapshot, events: number): Cpu {
  const cpu: Cpu = {};
  const us = (s: ProcessStats | undefined) => (s ? s.cpu.user + s.cpu.system : 0);
  for (const [name, stats] of b.procs) cpu[name] = (us(stats) - us(a.procs.get(name))) / 1000 / events;
  if (dbNames.length) cpu.db = (b.dbMs - a.dbMs) / events;
  cpu.redis = (b.redis.cpuMs - a.redis.cpuMs) / events;
  cpu.total = Object.values(cpu).reduce((sum, v) => sum + v, 0);
  if (DB === 'postgres') {
    // A backend that ended during the interval is missing from `b` and left out (its time shows in 'db' only).
    let ms = 0;
    for (const [pid, end] of b.backends) ms += end - (a.backends.get(pid) ?? 0);
    cpu.dbBackends = ms / events;
  }
  return cpu;
}

/** Socket writes per event by process ('api', 'worker1', ...; the receiver's are its answers), and all workers'. */
type Writes = Record<string, SocketWrites>;

function writesPerEvent(a: Snapshot, b: Snapshot, events: number): Writes {
  const out: Writes = {};
  const workers: SocketWrites = { db: 0, redis: 0, other: 0 };
  for (const [name, stats] of b.procs) {
    const before = a.procs.get(name)?.writes ?? { db: 0, redis: 0, other: 0 };
    const w = { db: 0, redis: 0, other: 0 };
    for (const k of ['db', 'redis', 'other'] as const) {
      w[k] = (stats.writes[k] - before[k]) / events;
      if (name.startsWith('worker')) workers[k] += w[k];
    }
    out[name] = w;
  }
  out.workers = workers;
  return out;
}

function writesLine(writes: Writes): string {
  const dbName = DB === 'postgres' ? 'pg' : DB;
  return ['api', 'workers']
    .filter((name) => writes[name])
    .map(
      (name) => `${name} ${dbName} ${fixed(writes[name].db, 2)} redis ${fixed(writes[name].redis, 2)} http ${fixed(writes[name].other, 2)}`,
    )
    .join('; ');
}

function cpuLine(cpu: Cpu): string {
  const parts = Object.keys(cpu)
    .filter((k) => k !== 'total' && k !== 'dbBackends')
    .map((k) => `${k === 'db' ? dbLabel : k} ${cpu[k].toFixed(2)}`);
  const backends = cpu.dbBackends !== undefined ? ` (our backends ${cpu.dbBackends.toFixed(2)})` : '';
  return `${parts.join(' + ')} = ${cpu.total.toFixed(2)} ms/event${backends}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

interface ThroughputResult {
  pipeline: Pipeline;
  round: number;
  events: number;
  seconds: number;
  deliveriesPerSec: number;
  savesPerSec: number;
  cpu: Cpu;
  /** used_memory after minus before, per event (the whole server: noisy when others use it). */
  redisBytesPerEvent: number;
  redisPeakBytes: number;
  /** Keys under the run's prefix after the run, and their MEMORY USAGE (only this run's). */
  redisKeysAfter: number;
  redisKeyBytesAfter: number;
  /** TCP connections the receiver accepted during the run. */
  connections: number;
  /** Requests that repeated an event the receiver already had (a resend: crash, lost lease, duplicate job). */
  duplicates: number;
  latency: Latency;
  /** Socket writes per event by process (a lower bound of round trips to the database and to Redis). */
  writes: Writes;
}

async function throughputRun(pipeline: Pipeline, round: number): Promise<ThroughputResult> {
  const path = `/throughput-${++runNumber}`;
  return withStack(pipeline, [path], WORKERS, async (stack) => {
    await warmup(stack, [path]);
    const before = await snapshot(stack);
    let peak = before.redis.usedMemory;
    const samplePeak = async () => {
      peak = Math.max(peak, Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0));
    };
    const saves = await saveAndDeliver(stack, [path], EVENTS, undefined, samplePeak);
    const after = await snapshot(stack);
    const left = await prefixMemory(redis, stack.prefix);
    const got = await report(path);
    const connections = await receiver.call<number>('connections');
    const seconds = (got.lastAt - saves.startedAt) / 1000;
    return {
      pipeline,
      round,
      events: saves.saved,
      seconds,
      deliveriesPerSec: saves.saved / seconds,
      savesPerSec: saves.saved / ((saves.endedAt - saves.startedAt) / 1000),
      cpu: cpuPerEvent(before, after, saves.saved),
      redisBytesPerEvent: (after.redis.usedMemory - before.redis.usedMemory) / saves.saved,
      redisPeakBytes: peak - before.redis.usedMemory,
      redisKeysAfter: left.keys,
      redisKeyBytesAfter: left.bytes,
      connections,
      duplicates: got.duplicates,
      latency: latencySummary(got.latencies ?? []),
      writes: writesPerEvent(before, after, saves.saved),
    };
  });
}

interface LatencyResult {
  pipeline: Pipeline;
  round: number;
  rate: number;
  achievedRate: number;
  /** How far the paced saves fell behind their schedule at worst. */
  maxLagMs: number;
  latency: Latency;
}

/** One stack per pipeline and round; each rate in turn, after the previous one's deliveries finished. */
async function latencyRuns(pipeline: Pipeline, round: number): Promise<LatencyResult[]> {
  const path = `/latency-${++runNumber}`;
  return withStack(pipeline, [path], WORKERS, async (stack) => {
    await warmup(stack, [path]);
    const results: LatencyResult[] = [];
    for (const rate of RATES) {
      await receiver.call('reset');
      const saves = await saveAndDeliver(stack, [path], Math.round(rate * LATENCY_SECONDS), rate);
      const got = await report(path);
      results.push({
        pipeline,
        round,
        rate,
        achievedRate: saves.saved / ((saves.endedAt - saves.startedAt) / 1000),
        maxLagMs: saves.maxLagMs,
        latency: latencySummary(got.latencies ?? []),
      });
    }
    return results;
  });
}

interface DrainResult {
  pipeline: Pipeline;
  round: number;
  workers: number;
  events: number;
  /** Saves per second while building the backlog (no worker running). */
  backlogSavesPerSec: number;
  deliveriesPerSec: number;
  /** From resuming the queue to the first receipt. */
  firstReceiptMs: number;
  cpu: Cpu;
  /** Socket writes per event (all workers together: round trips grow when batches shrink). */
  writes: Writes;
  duplicates: number;
}

/**
 * The backlog is saved with the queue paused and no worker process running; the workers are then started, and
 * once all are up the queue is resumed: the clock starts there, so worker start-up is not counted.
 */
async function drainRun(pipeline: Pipeline, round: number, workers: number): Promise<DrainResult> {
  const path = `/drain-${++runNumber}`;
  return withStack(pipeline, [path], 0, async (stack) => {
    await stack.api!.call('pause');
    const saves = await stack.api!.call<SaveResult>('save', { count: EVENTS, concurrency: SAVERS });
    await addWorkers(stack, workers);
    await receiver.call('reset');
    const before = await snapshot(stack);
    const resumedAt = now();
    await stack.api!.call('resume');
    await mustWait(
      stack,
      `draining ${saves.saved} events`,
      deliveryTimeout(saves.saved),
      async () => (await received(path)) >= saves.saved,
    );
    await mustWait(stack, 'the workers finishing their jobs', 30_000, async () => (await completedJobs(stack)) >= saves.saved, 20);
    const after = await snapshot(stack);
    const got = await report(path);
    return {
      pipeline,
      round,
      workers,
      events: saves.saved,
      backlogSavesPerSec: saves.saved / ((saves.endedAt - saves.startedAt) / 1000),
      deliveriesPerSec: saves.saved / ((got.lastAt - resumedAt) / 1000),
      firstReceiptMs: got.firstAt - resumedAt,
      cpu: cpuPerEvent(before, after, saves.saved),
      writes: writesPerEvent(before, after, saves.saved),
      duplicates: got.duplicates,
    };
  });
}

interface NoisyResult {
  pipeline: Pipeline;
  round: number;
  withSlow: boolean;
  events: number;
  healthy: Latency;
  healthyReceived: number;
  /** Requests that reached the slow endpoint by the time the healthy one had all (or the deadline passed). */
  slowReceived: number;
  /** Repeated events at either endpoint. */
  duplicates: number;
  /** The healthy endpoint got every event before the deadline. */
  complete: boolean;
}

/**
 * Every order goes to a healthy endpoint and, `withSlow`, to one that answers after --hang-ms. The run stops once
 * the healthy endpoint has every event; the held requests are then answered at once so the workers can stop.
 */
async function noisyRun(pipeline: Pipeline, round: number, withSlow: boolean): Promise<NoisyResult> {
  const n = ++runNumber;
  const ok = `/noisy-${n}-healthy`;
  const slow = `/noisy-${n}-slow`;
  const paths = withSlow ? [slow, ok] : [ok];
  return withStack(pipeline, paths, WORKERS, async (stack) => {
    await warmup(stack, paths);
    if (withSlow) await receiver.call('hang', { path: slow, ms: HANG_MS });
    try {
      let failure: Error | undefined;
      const saving = stack
        .api!.call<SaveResult>('save', { count: NOISY_EVENTS, concurrency: SAVERS, ratePerSec: NOISY_RATE })
        .catch((e: Error) => {
          failure = e;
          return undefined;
        });
      // Worst case: every slot waits out the slow endpoint for each of its events, one batch of slots at a time.
      const batches = Math.ceil((paths.length * NOISY_EVENTS) / (CONCURRENCY * WORKERS)) + 1;
      const timeout = 30_000 + (NOISY_EVENTS / NOISY_RATE) * 1000 + batches * HANG_MS;
      const complete = await waitUntil(stack, timeout, async () => {
        if (failure) throw failure;
        return (await received(ok)) >= NOISY_EVENTS;
      });
      await saving;
      const got = await report(ok);
      return {
        pipeline,
        round,
        withSlow,
        events: NOISY_EVENTS,
        healthy: latencySummary(got.latencies ?? []),
        healthyReceived: got.count,
        slowReceived: withSlow ? await received(slow) : 0,
        duplicates: got.duplicates + (withSlow ? (await report(slow)).duplicates : 0),
        complete,
      };
    } finally {
      await receiver.call('release');
    }
  });
}

interface LongResult {
  pipeline: Pipeline;
  checkpoints: Array<{ deliveries: number; workerRssMb: number[]; workerHeapMb: number[]; redisUsedMemoryMb: number }>;
}

/** --long: 100k deliveries in one run; worker RSS (and Redis memory) when 10k and 100k are done (--long-checkpoints). */
async function longRun(pipeline: Pipeline): Promise<LongResult> {
  const path = `/long-${++runNumber}`;
  const total = LONG_CHECKPOINTS[LONG_CHECKPOINTS.length - 1];
  return withStack(pipeline, [path], WORKERS, async (stack) => {
    await warmup(stack, [path]);
    const base = await completedJobs(stack);
    const checkpoints: LongResult['checkpoints'] = [];
    const check = async () => {
      const next = LONG_CHECKPOINTS[checkpoints.length];
      if (next === undefined) return;
      const stats = await Promise.all(stack.workers.map((w) => w.stats()));
      const done = stats.reduce((sum, s) => sum + (s.completed ?? 0), 0) - base;
      if (done < next) return;
      const { usedMemory } = await redisInfo(redis);
      // The heap after a full collection: what the worker keeps, where RSS also holds garbage and freed pages.
      const collected = await Promise.all(stack.workers.map((w) => w.stats({ gc: true })));
      checkpoints.push({
        deliveries: done,
        workerRssMb: stats.map((s) => s.rss / 2 ** 20),
        workerHeapMb: collected.map((s) => s.heapUsed / 2 ** 20),
        redisUsedMemoryMb: usedMemory / 2 ** 20,
      });
    };
    await saveAndDeliver(stack, [path], total, undefined, check);
    await check(); // the last checkpoint: every job has finished now
    return { pipeline, checkpoints };
  });
}

interface OwnersResult {
  round: number;
  owners: number;
  /** Endpoints in the API process's cache: the owners' and the ownerless ones. */
  endpoints: number;
  /** Writing the owned endpoints and reloading the cache, in the API process at start. */
  setupMs: number;
  events: number;
  deliveries: number;
  /** From the first save to the last receipt. */
  deliveriesPerSec: number;
  /** Events recorded per second: orders saved, each with its outbox rows in its transaction. */
  savesPerSec: number;
  /** Per event, by process (as in the throughput scenario). */
  cpu: Cpu;
  /** The workers' CPU per delivery. */
  workersMsPerDelivery: number;
  /** Endpoint cache loads inside the measured interval, in the API process and in the workers together. */
  cacheLoads: { api: number; workers: number };
  /** Rows of webhook_endpoint updated per delivery (health: a success is written once a second per endpoint). */
  endpointWritesPerDelivery: number;
  /** Socket writes per delivery by process. */
  writes: Writes;
  routing: RoutingTiming;
  /** One endpoint cache reload in the API process (each process does one every endpointCacheRefreshMs, 30 s). */
  reload: { ms: number; cpuMs: number };
  /** Owned deliveries whose event was another owner's (must be 0). */
  misrouted: number;
}

/**
 * One run of the owners scenario: --ownerless ownerless endpoints (a path each) and `owners` owners' endpoints (one
 * path, `?owner=` telling them apart). After the warm-up, --events orders are saved and delivered as in the
 * throughput scenario; then, with everything idle, the routing call is timed in the API process and the cache
 * reloaded once (after the measured interval, so that neither their work nor the garbage they leave falls in it).
 */
async function ownersRun(round: number, owners: number): Promise<OwnersResult> {
  const n = ++runNumber;
  const shared = Array.from({ length: OWNERLESS }, (_, j) => `/owners-${n}-ownerless-${j + 1}`);
  const owned = `/owners-${n}-owned`;
  const paths = [...shared, owned];
  const owed: Owed = (s) => [...shared.map(() => s.saved), s.owned ?? 0];
  const setup: OwnersSetup = { count: owners, url: receiverBase + owned };
  return withStack(
    'ours',
    shared,
    WORKERS,
    async (stack) => {
      const { setupMs } = stack.apiInfo as { setupMs: number };
      await warmup(stack, paths, owed);
      const writesBefore = await databases.rowUpdates(stack.prefix, 'webhook_endpoint');
      const before = await snapshot(stack);
      const saves = await saveAndDeliver(stack, paths, EVENTS, undefined, undefined, owed);
      const after = await snapshot(stack);
      const reports = await Promise.all(paths.map((path) => receiver.call<PathReport>('report', { path })));
      const deliveries = owed(saves).reduce((sum, v) => sum + v, 0);
      const cpu = cpuPerEvent(before, after, saves.saved);
      const workersMs = stack.workers.reduce((sum, _, i) => sum + cpu[`worker${i + 1}`], 0);
      const loads = (snap: Snapshot, names: string[]) => names.reduce((sum, name) => sum + (snap.procs.get(name)?.cacheLoads ?? 0), 0);
      const workerNames = stack.workers.map((_, i) => `worker${i + 1}`);
      const routing = await stack.api!.call<RoutingTiming>('route', { events: ROUTE_EVENTS });
      if (!routing.agrees) throw new Error(`${owners} owners: the cache's routing differs from a scan of every endpoint`);
      const reload = await stack.api!.call<{ ms: number; cpuMs: number }>('reload');
      // Read last: the workers' final health writes reach pg_stat_user_tables up to a second or so late.
      const writes = (await databases.rowUpdates(stack.prefix, 'webhook_endpoint')) - writesBefore;
      return {
        round,
        owners,
        endpoints: routing.endpoints,
        setupMs,
        events: saves.saved,
        deliveries,
        deliveriesPerSec: deliveries / ((Math.max(...reports.map((r) => r.lastAt)) - saves.startedAt) / 1000),
        savesPerSec: saves.saved / ((saves.endedAt - saves.startedAt) / 1000),
        cpu,
        workersMsPerDelivery: (workersMs * saves.saved) / deliveries,
        cacheLoads: {
          api: loads(after, ['api']) - loads(before, ['api']),
          workers: loads(after, workerNames) - loads(before, workerNames),
        },
        endpointWritesPerDelivery: writes / deliveries,
        writes: writesPerEvent(before, after, deliveries),
        routing,
        reload,
        misrouted: await receiver.call<number>('misrouted'),
      };
    },
    setup,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Printing

const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const range = (values: number[], digits: number) =>
  values.length ? `${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)}` : '-';
const latencyText = (l: Latency) => `p50 ${fixed(l.p50, 1)} p90 ${fixed(l.p90, 1)} p99 ${fixed(l.p99, 1)} max ${fixed(l.max, 1)} ms`;

interface Row {
  label: string;
  first: number[];
  second: number[];
  digits: number;
}

/** Ranges over the rounds and FIRST/SECOND (ours/minimal unless --pipelines says otherwise) per round. */
function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log(`  ${''.padEnd(40)} ${FIRST.padEnd(16)} ${SECOND.padEnd(16)} ${FIRST}/${SECOND} per round`);
  for (const row of rows) {
    const ratios = row.first.map((v, i) => (row.second[i] > 0 && v >= 0 ? fixed(v / row.second[i], 2) : '-')).join(' ');
    console.log(
      `  ${row.label.padEnd(40)} ${range(row.first, row.digits).padEnd(16)} ${range(row.second, row.digits).padEnd(16)} ${ratios}`,
    );
  }
}

function rowOf<T extends { pipeline: Pipeline }>(results: T[], label: string, value: (r: T) => number, digits = 0): Row {
  const of = (p: Pipeline) => results.filter((r) => r.pipeline === p).map(value);
  return { label, first: of(FIRST), second: of(SECOND), digits };
}

function printThroughput(results: ThroughputResult[]): void {
  const cpuKeys = [...new Set(results.flatMap((r) => Object.keys(r.cpu)))].filter((k) => k !== 'total' && k !== 'dbBackends');
  printTable(`throughput summary (${DB}, ${EVENTS} events, ${WORKERS} worker(s), ${ROUNDS} round(s))`, [
    rowOf(results, 'deliveries/s (first save→last receipt)', (r) => r.deliveriesPerSec),
    rowOf(results, 'saves/s', (r) => r.savesPerSec),
    ...cpuKeys.map((k) => rowOf(results, `CPU ms/event ${k === 'db' ? dbLabel : k}`, (r) => r.cpu[k] ?? NaN, 2)),
    ...(DB === 'postgres' ? [rowOf(results, `  (our postgres backends)`, (r) => r.cpu.dbBackends, 2)] : []),
    rowOf(results, 'CPU ms/event total', (r) => r.cpu.total, 2),
    ...(['api', 'workers'] as const).flatMap((name) =>
      (['db', 'redis'] as const).map((k) =>
        rowOf(results, `socket writes/event ${name} → ${k === 'db' ? DB : k}`, (r) => r.writes[name]?.[k] ?? NaN, 2),
      ),
    ),
    rowOf(results, 'latency p50 ms (under full load)', (r) => r.latency.p50, 1),
    rowOf(results, 'latency p99 ms (under full load)', (r) => r.latency.p99, 1),
    rowOf(results, 'duplicate deliveries (receiver)', (r) => r.duplicates, 0),
  ]);
}

function printMemory(results: ThroughputResult[], long: LongResult[]): void {
  printTable(`memory summary (Redis used_memory over the throughput runs)`, [
    rowOf(results, 'Redis bytes/event after the run', (r) => r.redisBytesPerEvent, 1),
    rowOf(results, 'Redis peak during the run, KB', (r) => r.redisPeakBytes / 1024, 0),
    rowOf(results, "keys left under the run's prefix", (r) => r.redisKeysAfter, 0),
    rowOf(results, 'their MEMORY USAGE, KB (not per event)', (r) => r.redisKeyBytesAfter / 1024, 1),
  ]);
  for (const r of long) {
    for (const c of r.checkpoints) {
      console.log(
        `  ${r.pipeline.padEnd(8)} after ${c.deliveries} deliveries: worker RSS ${c.workerRssMb.map((m) => fixed(m, 1)).join(', ')} MB, heap after a full GC ${c.workerHeapMb.map((m) => fixed(m, 1)).join(', ')} MB; ` +
          `Redis used_memory ${fixed(c.redisUsedMemoryMb, 1)} MB`,
      );
    }
  }
  if (!args.long) console.log('  (worker RSS after 10k and 100k deliveries: run with --long)');
}

function printLatency(results: LatencyResult[]): void {
  printTable(
    `latency summary (commit-to-delivered ms, ${LATENCY_SECONDS} s per rate, ${WORKERS} worker(s))`,
    RATES.flatMap((rate) => {
      const at = results.filter((r) => r.rate === rate);
      return [
        rowOf(at, `${rate}/s achieved rate`, (r) => r.achievedRate),
        rowOf(at, `${rate}/s p50`, (r) => r.latency.p50, 1),
        rowOf(at, `${rate}/s p90`, (r) => r.latency.p90, 1),
        rowOf(at, `${rate}/s p99`, (r) => r.latency.p99, 1),
        rowOf(at, `${rate}/s max`, (r) => r.latency.max, 1),
      ];
    }),
  );
}

function printDrain(results: DrainResult[]): void {
  const by = (w: number) => results.filter((r) => r.workers === w);
  printTable(`drain summary (backlog of ${EVENTS} events)`, [
    rowOf(by(1), '1 worker deliveries/s', (r) => r.deliveriesPerSec),
    rowOf(by(2), '2 workers deliveries/s', (r) => r.deliveriesPerSec),
    rowOf(by(1), '1 worker CPU ms/event total', (r) => r.cpu.total, 2),
    rowOf(by(2), '2 workers CPU ms/event total', (r) => r.cpu.total, 2),
    rowOf(by(1), '1 worker: workers CPU ms/event', (r) => r.cpu.worker1, 2),
    rowOf(by(2), '2 workers: workers CPU ms/event', (r) => r.cpu.worker1 + r.cpu.worker2, 2),
    rowOf(by(1), '1 worker: writes/event → db', (r) => r.writes.workers.db, 2),
    rowOf(by(2), '2 workers: writes/event → db', (r) => r.writes.workers.db, 2),
    rowOf(by(1), '1 worker: writes/event → redis', (r) => r.writes.workers.redis, 2),
    rowOf(by(2), '2 workers: writes/event → redis', (r) => r.writes.workers.redis, 2),
    rowOf(results, 'duplicate deliveries (receiver)', (r) => r.duplicates, 0),
  ]);
  for (const p of PIPELINES) {
    const one = by(1).filter((r) => r.pipeline === p);
    const two = by(2).filter((r) => r.pipeline === p);
    console.log(
      `  ${p}: 2 workers / 1 worker per round: ${one.map((r, i) => fixed((two[i]?.deliveriesPerSec ?? NaN) / r.deliveriesPerSec, 2)).join(' ')}; ` +
        `CPU per event: ${one.map((r, i) => fixed((two[i]?.cpu.total ?? NaN) / r.cpu.total, 2)).join(' ')}`,
    );
  }
}

function printNoisy(results: NoisyResult[]): void {
  const slow = results.filter((r) => r.withSlow);
  const alone = results.filter((r) => !r.withSlow);
  const p90Ratio = (r: NoisyResult) =>
    r.healthy.p90 / (alone.find((a) => a.pipeline === r.pipeline && a.round === r.round)?.healthy.p90 ?? NaN);
  printTable(`noisy neighbour summary (${NOISY_EVENTS} events at ${NOISY_RATE}/s; slow endpoint answers after ${HANG_MS} ms)`, [
    rowOf(slow, 'healthy p50 ms, beside the slow one', (r) => r.healthy.p50, 0),
    rowOf(slow, 'healthy p90 ms, beside the slow one', (r) => r.healthy.p90, 0),
    rowOf(slow, 'healthy max ms, beside the slow one', (r) => r.healthy.max, 0),
    rowOf(alone, 'healthy p90 ms, alone', (r) => r.healthy.p90, 1),
    rowOf(slow, 'p90 beside the slow one / alone', p90Ratio, 1),
    rowOf(slow, 'slow endpoint requests received', (r) => r.slowReceived, 0),
    rowOf(results, 'duplicate deliveries (receiver)', (r) => r.duplicates, 0),
  ]);
  const incomplete = results.filter((r) => !r.complete);
  for (const r of incomplete)
    console.log(`  ${r.pipeline} round ${r.round}: the healthy endpoint got only ${r.healthyReceived} before the deadline`);
}

/** (a) and (b) side by side: their ranges, (b)/(a) per round and the range of those ratios. */
function printOwners(results: OwnersResult[]): void {
  const [few, many] = OWNERS;
  const a = results.filter((r) => r.owners === few);
  const b = results.filter((r) => r.owners === many);
  const endpoints = (rs: OwnersResult[]) => rs[0]?.endpoints ?? NaN;
  console.log(
    `\nowners summary (${DB}, ${EVENTS} events, ${OWNERLESS} ownerless endpoint(s), ${WORKERS} worker(s), ${ROUNDS} round(s); ` +
      `(a) ${few} owners, ${endpoints(a)} endpoints; (b) ${many} owners, ${endpoints(b)} endpoints)`,
  );
  const head = `(a) ${few} owners`;
  console.log(`  ${''.padEnd(46)} ${head.padEnd(16)} ${`(b) ${many}`.padEnd(16)} ${'(b)/(a) per round'.padEnd(22)} range`);
  const row = (label: string, value: (r: OwnersResult) => number, digits: number) => {
    const ratios = b.map((r, i) => value(r) / value(a[i]));
    console.log(
      `  ${label.padEnd(46)} ${range(a.map(value), digits).padEnd(16)} ${range(b.map(value), digits).padEnd(16)} ` +
        `${ratios
          .map((v) => fixed(v, 2))
          .join(' ')
          .padEnd(22)} ${range(ratios, 2)}`,
    );
  };
  row('events recorded/s (saves/s)', (r) => r.savesPerSec, 0);
  row('API process CPU ms/event', (r) => r.cpu.api, 3);
  row('deliveries/s (first save→last receipt)', (r) => r.deliveriesPerSec, 0);
  row('workers CPU ms/delivery', (r) => r.workersMsPerDelivery, 3);
  row('CPU ms/event, all processes', (r) => r.cpu.total, 2);
  row(`workers socket writes/delivery → ${DB}`, (r) => r.writes.workers.db, 2);
  row('workers socket writes/delivery → redis', (r) => r.writes.workers.redis, 2);
  if (DB === 'postgres') row('endpoint rows written per delivery (health)', (r) => r.endpointWritesPerDelivery, 3);
  row('routing call ns/event (API process, idle)', (r) => r.routing.nsPerEvent, 0);
  row('  for scale: scanning every endpoint, ns/event', (r) => r.routing.scanNsPerEvent, 0);
  row('cache reload ms (per process every 30 s)', (r) => r.reload.ms, 0);
  const misrouted = results.reduce((sum, r) => sum + r.misrouted, 0);
  const loads = (rs: OwnersResult[]) => rs.map((r) => `${r.cacheLoads.api}+${r.cacheLoads.workers}`).join(' ');
  console.log(
    `  cache loads inside the measured interval (api+workers) per round: (a) ${loads(a)}, (b) ${loads(b)}; ` +
      `endpoints routed per event: ${[...new Set(results.map((r) => fixed(r.routing.routedPerEvent, 2)))].join(', ')}; ` +
      `misrouted deliveries: ${misrouted}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  databases = await Databases.open(DB, postgresUrl, mariadbUrl);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const { child, info } = await Child.start<{ port: number }>('receiver', new URL('./receiver.js', import.meta.url), {});
  receiver = child;
  receiverBase = `http://127.0.0.1:${info.port}`;
  const results = {
    options: { db: DB, events: EVENTS, rounds: ROUNDS, workers: WORKERS, concurrency: CONCURRENCY, savers: SAVERS, warmup: WARMUP },
    throughput: [] as ThroughputResult[],
    latency: [] as LatencyResult[],
    drain: [] as DrainResult[],
    noisy: [] as NoisyResult[],
    long: [] as LongResult[],
    owners: [] as OwnersResult[],
  };
  try {
    console.log(
      `pipeline bench: db ${DB}, ${availableParallelism()} cores, node ${process.version}, ${EVENTS} events, ${ROUNDS} round(s), ` +
        `${WORKERS} worker(s) at concurrency ${CONCURRENCY}, ${SAVERS} savers, ${WARMUP} warm-up deliveries per run`,
    );
    if (dbLabel)
      console.log(`${dbLabel}: CPU of all ${dbNames.join('/')} processes on the machine (/proc utime+stime, reaped children included)`);
    console.log('redis: INFO used_cpu_sys+used_cpu_user and used_memory of the (shared) server; api/worker/receiver: process.cpuUsage()');

    if (runs('throughput') || runs('memory')) {
      console.log('\n[throughput]');
      for (let round = 1; round <= ROUNDS; round++) {
        for (const pipeline of inTurn(round)) {
          const r = await throughputRun(pipeline, round);
          results.throughput.push(r);
          console.log(
            `  round ${round} ${pipeline.padEnd(8)} ${r.events} in ${fixed(r.seconds, 2)} s = ${fixed(r.deliveriesPerSec, 0)} deliveries/s ` +
              `(saves ${fixed(r.savesPerSec, 0)}/s); CPU ${cpuLine(r.cpu)}; Redis ${fixed(r.redisBytesPerEvent, 1)} B/event after, ` +
              `peak +${fixed(r.redisPeakBytes / 1024, 0)} KB, ${r.redisKeysAfter} keys left (${fixed(r.redisKeyBytesAfter / 1024, 1)} KB); ` +
              `${latencyText(r.latency)}; ${r.connections} connections; ${r.duplicates} duplicates; socket writes/event ${writesLine(r.writes)}`,
          );
        }
      }
      if (runs('throughput')) printThroughput(results.throughput);
    }

    if (runs('latency')) {
      console.log(`\n[latency] rates ${RATES.join(', ')}/s for ${LATENCY_SECONDS} s each`);
      for (let round = 1; round <= ROUNDS; round++) {
        for (const pipeline of inTurn(round)) {
          for (const r of await latencyRuns(pipeline, round)) {
            results.latency.push(r);
            console.log(
              `  round ${round} ${pipeline.padEnd(8)} ${r.rate}/s (achieved ${fixed(r.achievedRate, 0)}/s, saves up to ${fixed(r.maxLagMs, 0)} ms ` +
                `behind schedule): ${latencyText(r.latency)} (${r.latency.count} events)`,
            );
          }
        }
      }
      printLatency(results.latency);
    }

    if (runs('drain')) {
      console.log(`\n[drain] backlog of ${EVENTS}, saved with the queue paused and no worker running`);
      for (let round = 1; round <= ROUNDS; round++) {
        for (const workers of [1, 2]) {
          for (const pipeline of inTurn(round)) {
            const r = await drainRun(pipeline, round, workers);
            results.drain.push(r);
            console.log(
              `  round ${round} ${pipeline.padEnd(8)} ${workers} worker(s): ${fixed(r.deliveriesPerSec, 0)} deliveries/s ` +
                `(first after ${fixed(r.firstReceiptMs, 0)} ms; backlog saved at ${fixed(r.backlogSavesPerSec, 0)}/s); CPU ${cpuLine(r.cpu)}; ` +
                `socket writes/event ${writesLine(r.writes)}; ${r.duplicates} duplicates`,
            );
          }
        }
      }
      printDrain(results.drain);
    }

    if (runs('noisy')) {
      console.log(
        `\n[noisy] ${NOISY_EVENTS} events at ${NOISY_RATE}/s to a healthy endpoint, beside one answering after ${HANG_MS} ms and alone`,
      );
      for (let round = 1; round <= ROUNDS; round++) {
        for (const withSlow of [true, false]) {
          for (const pipeline of inTurn(round)) {
            const r = await noisyRun(pipeline, round, withSlow);
            results.noisy.push(r);
            console.log(
              `  round ${round} ${pipeline.padEnd(8)} ${withSlow ? 'beside slow' : 'alone      '}: healthy got ${r.healthyReceived}/${r.events}, ` +
                `${latencyText(r.healthy)}${withSlow ? `; slow endpoint got ${r.slowReceived}` : ''}`,
            );
          }
        }
      }
      printNoisy(results.noisy);
    }

    if (runs('owners') && !PIPELINES.includes('ours')) console.log('\n[owners] skipped: it measures ours only (--pipelines)');
    else if (runs('owners')) {
      const [few, many] = OWNERS;
      console.log(
        `\n[owners] (a) ${few} owners with ${ownedEndpointTotal(few)} endpoints and (b) ${many} with ${ownedEndpointTotal(many)} ` +
          `(1 or 2 each), beside ${OWNERLESS} ownerless endpoint(s); ` +
          `${EVENTS} events of random owners per run; (a), (b) in turn, flipped each round`,
      );
      for (let round = 1; round <= ROUNDS; round++) {
        for (const owners of round % 2 ? [few, many] : [many, few]) {
          const r = await ownersRun(round, owners);
          results.owners.push(r);
          console.log(
            `  round ${round} ${`${owners} owners`.padEnd(13)} ${r.endpoints} endpoints (set up in ${fixed(r.setupMs / 1000, 1)} s): ` +
              `${r.events} events, ${fixed(r.savesPerSec, 0)} recorded/s, API ${fixed(r.cpu.api, 3)} ms/event; ` +
              `${r.deliveries} deliveries, ${fixed(r.deliveriesPerSec, 0)}/s, workers ${fixed(r.workersMsPerDelivery, 3)} ms/delivery; ` +
              `CPU ${cpuLine(r.cpu)}; endpoint rows written ${fixed(r.endpointWritesPerDelivery, 2)}/delivery; ` +
              `socket writes/delivery ${writesLine(r.writes)}; ` +
              `cache loads in the interval: api ${r.cacheLoads.api}, workers ${r.cacheLoads.workers}; ` +
              `routing ${fixed(r.routing.nsPerEvent, 0)} ns/event (scan ${fixed(r.routing.scanNsPerEvent, 0)}); ` +
              `cache reload ${fixed(r.reload.ms, 0)} ms (${fixed(r.reload.cpuMs, 0)} ms CPU); misrouted ${r.misrouted}`,
          );
        }
      }
      printOwners(results.owners);
    }

    if (runs('memory')) {
      if (args.long) {
        console.log(`\n[memory --long] ${LONG_CHECKPOINTS[LONG_CHECKPOINTS.length - 1]} deliveries per pipeline`);
        for (const pipeline of PIPELINES) results.long.push(await longRun(pipeline));
      }
      printMemory(results.throughput, results.long);
    }

    if (args.json) console.log(JSON.stringify(results, null, 2));
  } finally {
    await receiver.stop();
    await redis.quit().catch(() => redis.disconnect());
    await databases.close();
  }
}

process.on('exit', () => Child.killAll());
process.on('SIGINT', () => {
  Child.killAll();
  process.exit(130);
});

main().catch((error: Error) => {
  console.error(error.stack ?? error);
  process.exitCode = 1;
});
