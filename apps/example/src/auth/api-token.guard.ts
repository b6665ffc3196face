import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG } from '../app.constants.js';
import type { AppConfig } from '../config.js';

/** Requires `Authorization: Bearer <API_TOKEN>`. */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = digest(config.apiToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Compare digests: constant time, and no length leak.
    if (!match || !timingSafeEqual(digest(match[1].trim()), this.expected)) {
      throw new UnauthorizedException('Send the API token as "Authorization: Bearer <API_TOKEN>".');
    }
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
