import type { TestProject } from 'vitest/node';
import { resolveRedis, type RedisHandle } from '../../apps/example/src/redis.js';

let redis: RedisHandle | undefined;

/**
 * Every test talks to a real Redis: REDIS_URL when set, else the one on 127.0.0.1:6379, else a private one
 * started here (the same fallback as the example app). Test apps isolate themselves with a unique Bull prefix.
 */
export async function setup(project: TestProject): Promise<void> {
  redis = await resolveRedis(process.env.REDIS_URL);
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', process.env.TEST_POSTGRES_URL ?? '');
  project.provide('mariadbUrl', process.env.TEST_MARIADB_URL ?? '');
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
    mariadbUrl: string;
  }
}
