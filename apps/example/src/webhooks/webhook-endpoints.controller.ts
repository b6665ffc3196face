import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  WebhookValidationError,
  WebhooksExceptionFilter,
  WebhooksService,
  type EndpointInput,
  type RecoverOptions,
  type RotateSecretOptions,
} from 'nestjs-outgoing-webhooks';
import { ApiTokenGuard } from '../auth/api-token.guard.js';
import { ShopService } from '../shop/shop.service.js';

/**
 * The operator's webhook endpoint resource: a thin layer over WebhooksService, which validates. An endpoint
 * created here with `ownerId` (a customer's id) belongs to that customer; without, it receives every customer's
 * events.
 */
@ApiTags('webhook endpoints')
@ApiBearerAuth('operator')
@Controller('api/webhook-endpoints')
@UseGuards(ApiTokenGuard)
@UseFilters(WebhooksExceptionFilter)
export class WebhookEndpointsController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly shop: ShopService,
  ) {}

  @Post()
  async create(@Body() body: EndpointInput) {
    await this.checkOwner(body);
    return this.webhooks.createEndpoint(body);
  }

  /** Every endpoint; `?ownerId=<customer id>`: that customer's only. */
  @Get()
  list(@Query('ownerId') ownerId?: unknown) {
    if (ownerId === undefined) return this.webhooks.listEndpoints();
    if (typeof ownerId !== 'string' || ownerId === '') {
      throw new WebhookValidationError('Query parameter ownerId must be one customer id.', { ownerId: ['must be one customer id'] });
    }
    return this.webhooks.listEndpoints({ ownerId });
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.webhooks.getEndpoint(id);
  }

  @Patch(':id')
  async update(@Param('id') id: string, @Body() body: Partial<EndpointInput>) {
    await this.checkOwner(body);
    return this.webhooks.updateEndpoint(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    await this.webhooks.deleteEndpoint(id);
  }

  @Post(':id/enable')
  @HttpCode(200)
  enable(@Param('id') id: string) {
    return this.webhooks.enable(id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  disable(@Param('id') id: string) {
    return this.webhooks.disable(id);
  }

  @Post(':id/reset-health')
  @HttpCode(200)
  resetHealth(@Param('id') id: string) {
    return this.webhooks.resetHealth(id);
  }

  /** Sends a signed test event now and reports the answer: `{ ok, status, durationMs, responseBody, error }`. */
  @Post(':id/test')
  @HttpCode(200)
  test(@Param('id') id: string, @Body() body: { payload?: unknown; topic?: string } = {}) {
    return this.webhooks.sendTest(id, body ?? {});
  }

  /**
   * Makes a new signing secret primary and returns it once: `{ secret, previousSecretsExpireAt }`. The previous
   * secrets keep signing for `graceSeconds` (default 86400, at most 604800; 0 retires them now).
   */
  @Post(':id/rotate-secret')
  @HttpCode(200)
  rotateSecret(@Param('id') id: string, @Body() body: RotateSecretOptions = {}) {
    return this.webhooks.rotateSecret(id, body ?? {});
  }

  /** Re-sends the endpoint's failed deliveries created in [since, until). */
  @Post(':id/recover')
  @HttpCode(200)
  recover(@Param('id') id: string, @Body() body: RecoverOptions) {
    return this.webhooks.recover(id, body);
  }

  @Get(':id/deliveries')
  deliveries(@Param('id') id: string, @Query('limit') limit?: string, @Query('before') before?: string) {
    return this.webhooks.listDeliveries(id, { limit: limit === undefined ? undefined : Number(limit), before });
  }

  /** An `ownerId` must name an existing customer (null: ownerless). */
  private async checkOwner(body: Partial<EndpointInput> | undefined): Promise<void> {
    const ownerId: unknown = typeof body === 'object' && body !== null ? body.ownerId : undefined;
    if (ownerId === undefined || ownerId === null || (await this.shop.isCustomerId(ownerId))) return;
    // Quoted only when a string (cut short): an object may nest too deeply for JSON.stringify.
    const got = typeof ownerId === 'string' ? JSON.stringify(ownerId.slice(0, 100)) : Array.isArray(ownerId) ? 'a list' : typeof ownerId;
    const problem = `ownerId must be the id of an existing customer, as a string (got ${got})`;
    throw new WebhookValidationError(`Invalid endpoint: ${problem}.`, { ownerId: [problem] });
  }
}

/** Deliveries by id. */
@ApiTags('webhook endpoints')
@ApiBearerAuth('operator')
@Controller('api/deliveries')
@UseGuards(ApiTokenGuard)
@UseFilters(WebhooksExceptionFilter)
export class DeliveriesController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get(':id')
  get(@Param('id') id: string) {
    return this.webhooks.getDelivery(id);
  }

  /** Sends a finished delivery again (same webhook-id); 202 with the delivery, now pending. */
  @Post(':id/redeliver')
  @HttpCode(202)
  redeliver(@Param('id') id: string) {
    return this.webhooks.redeliver(id);
  }
}
