import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { CustomerApiKey } from '../shop/api-key.entity.js';
import { API_KEY_PREFIX, apiKeyHash, bearerToken } from './api-keys.js';

/** A request authenticated by a customer's API key carries the customer's id. */
export interface CustomerRequest extends Request {
  customerId?: number;
}

/**
 * Requires `Authorization: Bearer <apiKey>` with a customer's key and sets `request.customerId`. The key is found
 * by its digest (a unique index), so nothing compares secrets byte by byte. The operator's API_TOKEN is no
 * customer's key and is refused here like any other unknown key.
 */
@Injectable()
export class CustomerKeyGuard implements CanActivate {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<CustomerRequest>();
    const key = bearerToken(request.headers.authorization);
    const found =
      key?.startsWith(API_KEY_PREFIX) &&
      (await this.dataSource.getRepository(CustomerApiKey).findOne({ where: { keyHash: apiKeyHash(key) }, select: { customerId: true } }));
    if (!found) {
      throw new UnauthorizedException('Send your customer API key as "Authorization: Bearer <apiKey>".');
    }
    request.customerId = found.customerId;
    return true;
  }
}
