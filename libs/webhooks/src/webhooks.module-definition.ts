import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WebhooksModuleOptions } from './webhooks.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: WEBHOOKS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WebhooksModuleOptions>({ moduleName: 'Webhooks' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWebhooksOptions')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
