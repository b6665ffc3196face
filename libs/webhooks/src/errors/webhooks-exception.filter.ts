import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { WebhookConflictError, WebhookNotFoundError, WebhookValidationError, WebhooksError } from './webhooks.errors.js';

/**
 * Maps the library's errors to HTTP answers `{ statusCode, message, error }`: validation 400 (with `fields`, the
 * problems by input field, when the check knows them), unknown id 404, conflict 409, others 500. Bind it on the
 * controllers that call `WebhooksService` (or globally) in an Express app.
 */
@Catch(WebhooksError)
export class WebhooksExceptionFilter implements ExceptionFilter {
  catch(error: WebhooksError, host: ArgumentsHost): void {
    const statusCode =
      error instanceof WebhookValidationError
        ? HttpStatus.BAD_REQUEST
        : error instanceof WebhookNotFoundError
          ? HttpStatus.NOT_FOUND
          : error instanceof WebhookConflictError
            ? HttpStatus.CONFLICT
            : HttpStatus.INTERNAL_SERVER_ERROR;
    const byField = error instanceof WebhookValidationError && Object.keys(error.fieldErrors).length > 0;
    const body = { statusCode, message: error.message, error: error.name, ...(byField ? { fields: error.fieldErrors } : {}) };
    host.switchToHttp().getResponse<Response>().status(statusCode).json(body);
  }
}
