import { Logger } from '@nestjs/common';
import { ConfigError } from './config-error.js';
import { accessSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import { delimiter, join } from 'node:path';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisHandle {
  url: string;
  /** Stops the private Redis, if one was started. */
  stop(): Promise<void>;
}

/**
 * The Redis to use: `REDIS_URL` as given; otherwise the default one if something listens there, else a private
 * Redis started for this process (redis-memory-server, using a system redis-server when installed), unless
 * `startPrivate` is false (a process in a split deployment: its peers could not reach a private one).
 */
export async function resolveRedis(
  configured: string | undefined,
  logger = new Logger('Redis'),
  { startPrivate = true } = {},
): Promise<RedisHandle> {
  if (configured) return { url: configured, stop: async () => undefined };
  if (await listening('127.0.0.1', 6379)) return { url: DEFAULT_REDIS_URL, stop: async () => undefined };
  if (!startPrivate) {
    throw new ConfigError(
      `No Redis at ${DEFAULT_REDIS_URL} and REDIS_URL is unset: an API-only or worker-only process needs the Redis its other processes use.`,
    );
  }
  const { RedisMemoryServer } = await import('redis-memory-server');
  const systemBinary = findOnPath('redis-server');
  const server = await RedisMemoryServer.create({ binary: systemBinary ? { systemBinary } : {} });
  const url = `redis://${await server.getHost()}:${await server.getPort()}`;
  logger.log(
    `No Redis at ${DEFAULT_REDIS_URL} and REDIS_URL is unset: started a private Redis at ${url} (data lives only as long as this process).`,
  );
  return { url, stop: async () => void (await server.stop()) };
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, host);
  });
}

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
