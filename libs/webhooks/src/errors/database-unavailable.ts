import { ArgumentsHost, Catch, HttpStatus, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';

/** Socket errors of a database that stopped, restarts or cannot be reached (Node's codes and mysql2's). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
]);

/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01-57P03 (shutting down,
 * crashed, not accepting connections yet), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** What pg and pg-pool say when the connection dies or cannot be made in time (they set no code). */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/**
 * Whether an error means the database cannot be reached right now (stopped, restarting, network cut), as
 * opposed to a bad statement or a constraint: the request may succeed as it is once the database is back.
 * Looks through TypeORM's `QueryFailedError.driverError`, `cause` and the errors of an `AggregateError` (a
 * dual-stack connect).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
    isAxiosError?: unknown;
  };
  // The same socket codes come from HTTP clients (a receiver, an OAuth2 token URL): those are not the database.
  if (e.isAxiosError === true) return false;
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  if (typeof e.message === 'string' && CONNECTION_MESSAGES.some((m) => (e.message as string).includes(m))) return true;
  const inner = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return inner.some((i) => i !== error && isDatabaseUnavailable(i, depth + 1));
}

/** Seconds a client is told to wait (`Retry-After`) before trying again while the database is away. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Answers **503** `{ statusCode, message, error }` with `Retry-After` when a request fails because the database
 * cannot be reached, instead of Nest's 500; any other error goes on to Nest's handling (or yours) unchanged. The
 * cause is logged, not sent (it names internal addresses). Register it globally, before filters of your own:
 * `app.useGlobalFilters(new DatabaseUnavailableFilter(app.get(HttpAdapterHost).httpAdapter))` or as an
 * `APP_FILTER` provider.
 */
@Catch()
export class DatabaseUnavailableFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('Database');

  override catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http' || !isDatabaseUnavailable(error)) return super.catch(error, host);
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<{ method?: string; url?: string }>();
    this.logger.warn(`${request.method} ${request.url} answered 503: the database is unavailable (${(error as Error).message}).`);
    response.status(HttpStatus.SERVICE_UNAVAILABLE).setHeader('Retry-After', String(RETRY_AFTER_SECONDS)).json({
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      message: 'The database is unavailable, so the request could not be completed; try again in a few seconds.',
      error: 'Service Unavailable',
    });
  }
}
