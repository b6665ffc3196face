import { AdminModule, ExpressLoader } from '@adminjs/nestjs';
import type { DynamicModule } from '@nestjs/common';
import { WebhooksService } from 'nestjs-outgoing-webhooks';
import { webhooksAdmin, webhooksAdminAuth } from 'nestjs-outgoing-webhooks/admin';
import type { AdminConfig } from '../config.js';

/**
 * The operators' dashboard at /admin: the library's AdminJS resources, actions and dashboard, behind a login.
 * `ExpressLoader` is named explicitly: AdminJS otherwise picks its loader before Nest's HTTP adapter exists.
 */
export function adminModule(config: AdminConfig, production: boolean): DynamicModule {
  return AdminModule.createAdminAsync({
    customLoader: ExpressLoader,
    inject: [WebhooksService],
    useFactory: (webhooks: WebhooksService) => ({
      adminJsOptions: webhooksAdmin(webhooks).options({
        rootPath: '/admin',
        branding: { companyName: 'Example shop: webhooks', withMadeWithLove: false },
      }),
      ...webhooksAdminAuth({
        email: config.email,
        password: config.password,
        cookieSecret: config.cookieSecret,
        secureCookie: production,
      }),
    }),
  });
}
