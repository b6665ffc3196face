import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { CLI_ENTRY } from '../../scripts/example-cli.mjs';
import type { TestDatabase } from './databases.js';
import { TEST_ENCRYPTION_KEY } from './example-app.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for `--json`). */
  json<T = any>(): T;
}

/** The DATABASE_URL of a test database, as the example reads it. */
export function databaseUrl(db: TestDatabase): string {
  const config = db.config;
  if (config.type === 'sqlite') return `sqlite:${config.path}`;
  if (config.type === 'postgres') {
    const url = new URL(config.url);
    if (config.schema) url.searchParams.set('schema', config.schema);
    return url.toString();
  }
  return config.url.replace(/^mysql:/, `${config.type}:`);
}

/** The example's environment for a test database and Bull prefix (secrets encrypted with the test apps' key). */
export function cliEnv(db: TestDatabase, bullPrefix: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl(db),
    REDIS_URL: inject('redisUrl'),
    BULL_PREFIX: bullPrefix,
    WEBHOOKS_ALLOW_PRIVATE_NETWORKS: '1',
    WEBHOOKS_ALLOW_HTTP: '1',
    WEBHOOKS_ENCRYPTION_KEYS: `${TEST_ENCRYPTION_KEY.id}:${TEST_ENCRYPTION_KEY.key}`,
    ADMIN_ENABLED: '0',
  };
}

/** Runs the built example CLI (`node dist/apps/example/src/cli.js ...args`) to its end, as `npm run cli` does. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} did not end within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`cli ${args.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
          }
        },
      });
    });
  });
}

export interface PlainReceiver {
  url: string;
  status: number;
  requests: Array<{ headers: IncomingHttpHeaders; body: any }>;
  close(): Promise<void>;
}

/**
 * A receiver on 127.0.0.1 answering `status` (changeable) to everything. Not the suite's `Receiver`: the CLI's test
 * sends go to it under any topic, from another process than the watched test app.
 */
export async function plainReceiver(status = 200): Promise<PlainReceiver> {
  const receiver: PlainReceiver = { url: '', status, requests: [], close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      receiver.requests.push({ headers: req.headers, body: text ? JSON.parse(text) : null });
      res.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
