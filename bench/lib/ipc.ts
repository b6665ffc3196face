/**
 * Request/answer over the fork() IPC channel. Children `serve()` named commands; the orchestrator `call()`s them.
 * Every child also answers `stats` (its own CPU time and RSS, so the numbers come from inside each process) and
 * exits when the orchestrator goes away, so no process outlives a crashed run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';

type Handler = (arg: any) => unknown;

interface Request {
  id: number;
  cmd: string;
  arg?: unknown;
}

interface Answer {
  id: number;
  value?: unknown;
  error?: string;
}

export interface ProcessStats {
  /** process.cpuUsage(): user and system microseconds of all the process's threads. */
  cpu: { user: number; system: number };
  rss: number;
  /** V8 heap in use; after a full collection when the stats were asked with `gc` (children run with --expose-gc). */
  heapUsed: number;
  /** Delivery jobs this process completed (workers only). */
  completed?: number;
  /** Delivery jobs that failed (the minimal worker only: ours' handler never fails a job). */
  failed?: number;
  /** Endpoint cache loads so far (ours in the owners scenario). */
  cacheLoads?: number;
  /** Writes this process made to its TCP sockets so far, by peer: the database, Redis, anything else (HTTP). */
  writes: SocketWrites;
}

export interface SocketWrites {
  db: number;
  redis: number;
  other: number;
}

const DB_PORTS = new Set([5432, 3306]);
const REDIS_PORT = 6379;

/**
 * Counts the writes this process hands to its TCP sockets (one per `write`/`writev` reaching the socket: writes
 * made while it is corked, as pg does for the messages of one query, count once), by the peer's port. A round
 * trip to the database or to Redis is at least one.
 */
function countSocketWrites(): SocketWrites {
  const writes: SocketWrites = { db: 0, redis: 0, other: 0 };
  const proto = Socket.prototype as unknown as { _writeGeneric?: (this: Socket, ...args: unknown[]) => unknown };
  const original = proto._writeGeneric;
  if (typeof original !== 'function') return writes; // a Node without it: the counts stay 0
  proto._writeGeneric = function (this: Socket, ...args: unknown[]) {
    const port = this.remotePort ?? 0;
    if (DB_PORTS.has(port)) writes.db++;
    else if (port === REDIS_PORT) writes.redis++;
    else writes.other++;
    return original.apply(this, args);
  };
  return writes;
}

/**
 * Child side. `start` runs first; its result is sent as the ready message. A `stop` handler should close what it
 * opened; the process exits once its answer is out.
 */
export function serve(handlers: Record<string, Handler>, start: () => Promise<unknown>, extraStats?: () => Partial<ProcessStats>): void {
  const writes = countSocketWrites();
  process.on('disconnect', () => process.exit(2));
  process.on('unhandledRejection', (error) => {
    console.error(`[${process.argv[1]}] unhandled rejection:`, error);
    process.exit(1);
  });
  process.on('message', (message: Request) => {
    void (async () => {
      const answer: Answer = { id: message.id };
      try {
        if (message.cmd === 'stats') {
          const collect = (globalThis as { gc?: () => void }).gc;
          if ((message.arg as { gc?: boolean } | undefined)?.gc && collect) collect();
          answer.value = {
            cpu: process.cpuUsage(),
            rss: process.memoryUsage.rss(),
            heapUsed: process.memoryUsage().heapUsed,
            writes: { ...writes },
            ...extraStats?.(),
          } satisfies ProcessStats;
        } else {
          const handler = handlers[message.cmd];
          if (!handler) throw new Error(`unknown command ${message.cmd}`);
          answer.value = (await handler(message.arg)) ?? null;
        }
      } catch (error) {
        answer.error = (error as Error).stack ?? String(error);
      }
      if (!process.connected) return;
      process.send!(answer, () => {
        if (message.cmd === 'stop') process.exit(answer.error ? 1 : 0);
      });
    })();
  });
  start().then(
    (info) => process.send!({ ready: info ?? true }),
    (error: Error) => {
      console.error(`[${process.argv[1]}] failed to start:`, error);
      process.exit(1);
    },
  );
}

/** Every child started and not yet exited, for the orchestrator's last-resort cleanup. */
const live = new Set<Child>();

/** Orchestrator side of one child process. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    live.add(this);
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : 0);
        live.delete(this);
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${signal ?? code}) before answering`));
        this.pending.clear();
        resolve();
      }),
    );
    proc.on('message', (message: Answer | { ready: unknown }) => {
      if (!('id' in message)) return;
      const p = this.pending.get(message.id);
      if (!p) return;
      this.pending.delete(message.id);
      if (message.error) p.reject(new Error(`${name}: ${message.error}`));
      else p.resolve(message.value);
    });
  }

  /** Forks `script` with `config` as its argument and waits for its ready message (or its exit). */
  static async start<T = unknown>(name: string, script: URL, config: unknown, timeoutMs = 60_000): Promise<{ child: Child; info: T }> {
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every child there (for finding where the time goes).
    // --expose-gc costs nothing until gc() is called: only the long run's readings ask for it.
    const execArgv = ['--expose-gc', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])];
    const proc = fork(script, [JSON.stringify(config)], { stdio: 'inherit', execArgv });
    const child = new Child(name, proc);
    let timer: NodeJS.Timeout | undefined;
    try {
      const info = await Promise.race([
        new Promise<T>((resolve) => {
          const onMessage = (message: { ready?: T }) => {
            if (message && 'ready' in message) {
              proc.off('message', onMessage);
              resolve(message.ready as T);
            }
          };
          proc.on('message', onMessage);
        }),
        child.exited.then(() => Promise.reject(new Error(`${name} exited while starting`))),
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]);
      return { child, info };
    } catch (error) {
      child.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  call<T>(cmd: string, arg?: unknown, timeoutMs = 30 * 60_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v: T) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ id, cmd, arg } satisfies Request);
    });
  }

  /** `gc`: run a full collection first (for the heap a long run keeps, not the garbage it has not collected yet). */
  stats(options?: { gc?: boolean }): Promise<ProcessStats> {
    return this.call<ProcessStats>('stats', options, 10_000);
  }

  /** Asks the child to close and exit; kills it if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.alive) return;
    this.call('stop', undefined, timeoutMs).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        console.error(`${this.name} did not stop in ${timeoutMs} ms; killing it`);
        this.kill();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }

  kill(): void {
    if (this.alive) this.proc.kill('SIGKILL');
  }

  /** Kills every child still running (the orchestrator is exiting). */
  static killAll(): void {
    for (const child of live) child.kill();
  }
}
