// The same app with the operators' dashboard from `nestjs-outgoing-webhooks/admin` at /admin.
import 'reflect-metadata';
import { AdminModule, ExpressLoader } from '@adminjs/nestjs';
import { NestFactory } from '@nestjs/core';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { webhooksAdmin, webhooksAdminAuth } from 'nestjs-outgoing-webhooks/admin';
import { AppModule, configFromEnv } from './app.module.js';

const admin = AdminModule.createAdminAsync({
  customLoader: ExpressLoader,
  inject: [WebhooksService],
  useFactory: (webhooks: WebhooksService) => ({
    adminJsOptions: webhooksAdmin(webhooks).options({ rootPath: '/admin' }),
    ...webhooksAdminAuth({ email: 'ops@example.com', password: 'a-long-test-password', cookieSecret: 'x'.repeat(32), secureCookie: false }),
  }),
});

const app = await NestFactory.create(AppModule.register(configFromEnv(), [admin]), { logger: ['error', 'warn'] });
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
const url = await app.getUrl();
console.log(`listening ${url.replace('[::1]', '127.0.0.1')}`);
