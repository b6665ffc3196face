import { BadRequestException, INestApplication, Logger, ValidationPipe, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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
  const redis = await resolveRedis(config.redisUrl);
  const app = await NestFactory.create(AppModule.register(config, redis.url), { logger, rawBody: true });
  configureApp(app);
  setupOpenApi(app);
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await redis.stop();
  };
  return app;
}

export function configureApp(app: INestApplication): void {
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
  logger.log(
    `Listening on ${base} (API under /api, its docs at /api/docs, health at /health${config.admin.enabled ? `, admin at ${base}/admin` : ''}).`,
  );
  if (config.apiTokenGenerated) {
    logger.warn(`API_TOKEN is unset; generated one for this run: ${config.apiToken}`);
  }
  if (config.admin.enabled && config.admin.passwordGenerated) {
    logger.warn(`ADMIN_PASSWORD is unset; admin login for this run: ${config.admin.email} / ${config.admin.password}`);
  }
}
