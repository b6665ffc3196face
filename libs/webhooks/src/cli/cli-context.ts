import { Inject, Injectable, Optional, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { RetentionService } from '../retention/retention.service.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { ResolvedWebhooksOptions } from '../webhooks.options.js';
import { WebhooksService } from '../webhooks.service.js';

/** What the host tells the commands about this process (from `webhooksCliSettings`). */
export interface WebhooksCliModuleOptions {
  /**
   * perf: the process's Bull prefix is its own (no other process uses it), so perf may remove every key under it
   * when it ends. `webhooksCliSettings()` gives perf such a prefix.
   */
  isolatedQueue?: boolean;
}

export const CLI_OPTIONS = Symbol('webhooks.cliOptions');

/**
 * The commands' way to the library: the providers of `WebhooksModule`, wherever the host imported it (found
 * through the module graph, so the module need not be global), and the host's CLI options.
 */
@Injectable()
export class CliContext {
  constructor(
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(CLI_OPTIONS) readonly options: WebhooksCliModuleOptions = {},
  ) {}

  get webhooks(): WebhooksService {
    return this.get(WebhooksService);
  }

  get retention(): RetentionService {
    return this.get(RetentionService);
  }

  /** The application's (default) DataSource: `migrate` needs only this, not WebhooksModule. */
  get dataSource(): DataSource {
    try {
      return this.moduleRef.get(DataSource, { strict: false });
    } catch {
      throw new WebhookConfigurationError('The webhooks commands need TypeOrmModule.forRoot() in the same application.');
    }
  }

  get moduleOptions(): ResolvedWebhooksOptions {
    return this.get<ResolvedWebhooksOptions>(WEBHOOKS_OPTIONS);
  }

  /** A provider of `WebhooksModule` (internal ones too, for perf). */
  get<T>(token: Type<T> | symbol | string): T {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      throw new WebhookConfigurationError(
        'The webhooks commands need WebhooksModule in the same application: import WebhooksModule.forRoot() (or forRootAsync()) ' +
          'beside WebhooksCliModule, with the TypeORM and Bull roots it uses.',
      );
    }
  }
}
