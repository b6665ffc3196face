// A company receiving webhooks: Nest with @nestjs/common and @nestjs/core only, verifying with the package's
// receiver entry point. POST /hooks answers 204 for a verified webhook (and 401 otherwise, from the guard).
import 'reflect-metadata';
import { Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryReplayStore, VerifyWebhook, WebhookMessage, type VerifiedWebhook } from 'nestjs-outgoing-webhooks/receiver';

const secret = process.env.WEBHOOK_SECRET;
if (!secret) throw new Error('WEBHOOK_SECRET is required');

@Controller()
class HooksController {
  @Post('hooks')
  @HttpCode(204)
  @VerifyWebhook({ secrets: () => [secret as string], replayStore: new MemoryReplayStore() })
  receive(@WebhookMessage() webhook: VerifiedWebhook): void {
    console.log(JSON.stringify({ verified: webhook.id, payload: webhook.payload }));
  }
}

@Module({ controllers: [HooksController] })
class ReceiverModule {}

const app = await NestFactory.create(ReceiverModule, { rawBody: true, logger: ['error', 'warn'] });
await app.listen(0, '127.0.0.1');
console.log(`listening ${(await app.getUrl()).replace('[::1]', '127.0.0.1')}`);
