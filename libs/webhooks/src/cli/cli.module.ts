import { Module, type DynamicModule } from '@nestjs/common';
import { CLI_OPTIONS, CliContext, type WebhooksCliModuleOptions } from './cli-context.js';
import { DeliveriesCommand, DeliveriesListCommand, RecoverCommand, RedeliverCommand } from './deliveries.commands.js';
import { ENDPOINT_SUBCOMMANDS, EndpointsCommand } from './endpoints.commands.js';
import { CleanupCommand, MigrateCommand } from './maintenance.commands.js';
import { PerfCommand } from './perf.command.js';
import { ErrorsCommand, StatsCommand } from './reports.commands.js';
import { SendCommand } from './send.command.js';
import { StatusCommand } from './status.command.js';

/** Every command and subcommand class (nest-commander finds them among the providers). */
export const WEBHOOK_COMMANDS = [
  StatusCommand,
  EndpointsCommand,
  ...ENDPOINT_SUBCOMMANDS,
  DeliveriesCommand,
  DeliveriesListCommand,
  RedeliverCommand,
  RecoverCommand,
  SendCommand,
  StatsCommand,
  ErrorsCommand,
  CleanupCommand,
  MigrateCommand,
  PerfCommand,
];

/**
 * The operators' commands for nest-commander. Import it in the module you hand to `CommandFactory.run()`, beside
 * TypeORM, Bull and `WebhooksModule` (the commands find its providers wherever it is imported):
 *
 * ```ts
 * const cli = webhooksCliSettings();
 * @Module({ imports: [TypeOrmModule.forRoot(...), BullModule.forRoot({ prefix: cli.bullPrefix('bull') }),
 *   WebhooksModule.forRoot({ ...options, ...cli.webhooks }), WebhooksCliModule.register(cli.module)] })
 * class CliModule {}
 * await CommandFactory.run(CliModule, webhooksCliRunOptions());
 * ```
 */
@Module({})
export class WebhooksCliModule {
  static register(options: WebhooksCliModuleOptions = {}): DynamicModule {
    return {
      module: WebhooksCliModule,
      providers: [{ provide: CLI_OPTIONS, useValue: options }, CliContext, ...WEBHOOK_COMMANDS],
    };
  }
}
