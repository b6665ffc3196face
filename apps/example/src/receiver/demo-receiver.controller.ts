import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { Request } from 'express';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { MemoryReplayStore, VerifyWebhook, WebhookMessage, type VerifiedWebhook } from 'nestjs-outgoing-webhooks/receiver';
import { ApiTokenGuard } from '../auth/api-token.guard.js';

export interface ReceivedWebhook {
  /** The endpoint of `/demo/receiver/<id>`; null for `/demo/receiver`, which any demo endpoint may use. */
  endpointId: string | null;
  webhookId: string;
  timestamp: number;
  type: unknown;
  payload: unknown;
  receivedAt: Date;
}

const KEEP = 100;

/** Secrets of the endpoints that point at `/demo/receiver` itself (on any host and port). */
async function demoEndpointSecrets(moduleRef: ModuleRef): Promise<string[]> {
  const webhooks = moduleRef.get(WebhooksService, { strict: false });
  const endpoints = (await webhooks.listEndpoints()).filter((e) => new URL(e.url).pathname === '/demo/receiver');
  return (await Promise.all(endpoints.map((e) => webhooks.signingSecrets(e.id).catch(() => [])))).flat();
}

/**
 * A receiver for the demo, in the same app: point an endpoint at `http://127.0.0.1:3000/demo/receiver` (the
 * command printed at start-up does), or at `/demo/receiver/<its id>`. In development the app may send to its own
 * port on loopback without WEBHOOKS_ALLOW_PRIVATE_NETWORKS. Requests are verified with `@VerifyWebhook()`
 * against the current secrets of the endpoint (of every endpoint aimed at `/demo/receiver` for the short form), so
 * it keeps working across a rotation, and exact replays are refused. A real receiver lives in another app and
 * holds the secret it was given.
 */
@Controller('demo/receiver')
export class DemoReceiverController {
  private readonly received: ReceivedWebhook[] = [];

  @Post()
  @HttpCode(204)
  @VerifyWebhook<Request>({
    secrets: (_request: Request, moduleRef: ModuleRef) => demoEndpointSecrets(moduleRef),
    replayStore: new MemoryReplayStore(),
  })
  receiveAny(@WebhookMessage() webhook: VerifiedWebhook): void {
    this.keep(null, webhook);
  }

  @Post(':endpointId')
  @HttpCode(204)
  @VerifyWebhook<Request>({
    secrets: (request: Request, moduleRef: ModuleRef) =>
      moduleRef
        .get(WebhooksService, { strict: false })
        .signingSecrets(String(request.params.endpointId))
        .catch(() => []), // unknown endpoint: no secret, so 401
    replayStore: new MemoryReplayStore(),
  })
  receive(@Param('endpointId') endpointId: string, @WebhookMessage() webhook: VerifiedWebhook): void {
    this.keep(endpointId, webhook);
  }

  private keep(endpointId: string | null, webhook: VerifiedWebhook): void {
    const payload = webhook.payload as { type?: unknown } | undefined;
    this.received.unshift({
      endpointId,
      webhookId: webhook.id,
      timestamp: webhook.timestamp,
      type: payload?.type,
      payload,
      receivedAt: new Date(),
    });
    this.received.length = Math.min(this.received.length, KEEP);
  }

  /** The last 100 verified webhooks, newest first. */
  @Get('messages')
  @UseGuards(ApiTokenGuard)
  messages(): ReceivedWebhook[] {
    return this.received;
  }
}
