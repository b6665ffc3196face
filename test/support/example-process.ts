import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { MAIN_ENTRY } from '../../scripts/example-cli.mjs';

/**
 * The example app as operators run it: `node dist/apps/example/src/main.js` (what `npm start` runs after building)
 * in a process of its own, configured by environment variables. Resolves once it listens.
 */
export class ExampleProcess {
  output = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly baseUrl: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts the app with `env` (PORT 0 unless given) and waits for its "Listening on" line. */
  static start(name: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ExampleProcess> {
    const child = spawn(process.execPath, [MAIN_ENTRY], {
      env: { PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let output = '';
      let running: ExampleProcess | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start listening within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      const take = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (running) running.output = output;
        const listening = /Listening on (http:\/\/[^\s]+?) as /.exec(output);
        if (listening && !running) {
          clearTimeout(timer);
          // The app listens on every interface; the tests talk to it on 127.0.0.1 only.
          const url = new URL(listening[1]);
          running = new ExampleProcess(name, child, `http://127.0.0.1:${url.port}`);
          running.output = output;
          resolve(running);
        }
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!running) reject(new Error(`${name} exited (${code}) before listening:\n${output}`));
      });
    });
  }

  /** A free TCP port on 127.0.0.1 (for an app whose configuration must name its own port). */
  static freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async fetch(path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: any; text: string }> {
    const { token, ...rest } = init;
    const response = await fetch(this.baseUrl + path, {
      ...rest,
      headers: {
        ...(rest.body ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(rest.headers as Record<string, string> | undefined),
      },
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text };
  }

  /** SIGKILL: no shutdown hook runs, as when the machine or the OOM killer ends a process. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the app's shutdown hooks run), then SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
