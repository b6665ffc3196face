import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { Request } from 'express';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { MemoryReplayStore, VerifyWebhook, WebhookMessage, type VerifiedWebhook } from 'nestjs-outgoing-webhooks/receiver';
import { ApiTokenGuard } from '../auth/api-token.guard.js';

export interface ReceivedWebhook {
  endpointId: string;
  webhookId: string;
  timestamp: number;
  type: unknown;
  payload: unknown;
  receivedAt: Date;
}

const KEEP = 100;

/**
 * A receiver for the demo, in the same app: point an endpoint at `http://127.0.0.1:3000/demo/receiver/<its id>`
 * (with WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1, since that is a loopback address). Requests are verified with
 * `@VerifyWebhook()` against the endpoint's current secrets (so it keeps working across a rotation), and exact
 * replays are refused. A real receiver lives in another app and holds the secret it was given.
 */
@Controller('demo/receiver')
export class DemoReceiverController {
  private readonly received: ReceivedWebhook[] = [];

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
