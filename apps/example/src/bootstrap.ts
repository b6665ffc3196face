import { BadRequestException, INestApplication, Logger, ValidationPipe, type LoggerService, type LogLevel } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { DatabaseUnavailableFilter } from 'nestjs-outgoing-webhooks';
import type { ValidationError } from 'class-validator';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config.js';
import { setupOpenApi } from './openapi.js';
import { resolveRedis } from './redis.js';

/** Builds the example app (used by main.ts and the e2e tests). */
export async function createApp(
  config: AppConfig,
  logger: LogLevel[] | LoggerService = ['error', 'warn', 'log'],
): Promise<INestApplication> {
  const roles = config.roles ?? { api: true, worker: true };
  // Processes in split roles must share one Redis: a private one per process would split the queue.
  const redis = await resolveRedis(config.redisUrl, undefined, { startPrivate: roles.api && roles.worker });
  const app = await NestFactory.create(AppModule.register(config, redis.url), { logger, rawBody: true });
  configureApp(app);
  if (roles.api) setupOpenApi(app);
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await redis.stop();
  };
  return app;
}

export function configureApp(app: INestApplication): void {
  // A request that fails because the database is away answers 503 (with Retry-After), not 500.
  app.useGlobalFilters(new DatabaseUnavailableFilter(app.get(HttpAdapterHost).httpAdapter));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // One readable message: "total must be a decimal string ...; status must be one of ..."
      exceptionFactory: (errors: ValidationError[]) =>
        new BadRequestException(errors.flatMap(flatten).join('; ') || 'Invalid request body.'),
    }),
  );
}

function flatten(error: ValidationError): string[] {
  return [...Object.values(error.constraints ?? {}), ...(error.children ?? []).flatMap(flatten)];
}

export function announce(config: AppConfig, url: string): void {
  const logger = new Logger('Example');
  const base = url.replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  const roles = config.roles ?? { api: true, worker: true };
  const role = roles.api ? (roles.worker ? 'API and webhook worker' : 'API only, no webhook worker') : 'webhook worker only';
  logger.log(
    roles.api
      ? `Listening on ${base} as ${role} (API under /api, its docs at /api/docs, health at /health${config.admin.enabled ? `, admin at ${base}/admin` : ''}).`
      : `Listening on ${base} as ${role} (health at /health, metrics at /metrics).`,
  );
  if (config.apiTokenGenerated) {
    logger.warn(`API_TOKEN is unset; generated one for this run: ${config.apiToken}`);
  }
  if (config.admin.enabled && config.admin.passwordGenerated) {
    logger.warn(`ADMIN_PASSWORD is unset; admin login for this run: ${config.admin.email} / ${config.admin.password}`);
  }
  if (!config.production && roles.api) logger.log(`Try it: ${demoCurl(config, url)}`);
}

/**
 * The one command that subscribes the demo receiver (this app, on loopback) to every event: then create a customer
 * or an order and read what arrived at /demo/receiver/messages.
 */
export function demoCurl(config: AppConfig, url: string): string {
  const port = new URL(url).port;
  const endpoint = JSON.stringify({ url: `http://127.0.0.1:${port}/demo/receiver`, topics: ['customer.*', 'order.*'] });
  return (
    `curl -s -X POST http://127.0.0.1:${port}/api/webhook-endpoints -H 'authorization: Bearer ${config.apiToken}' ` +
    `-H 'content-type: application/json' -d '${endpoint}'`
  );
}
