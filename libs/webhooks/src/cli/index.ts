/**
 * nestjs-outgoing-webhooks/cli: the operators' commands (status, endpoints, deliveries, redeliver, recover, send,
 * stats, errors, cleanup, migrate, perf) for nest-commander, an optional peer. The host registers them in its CLI
 * module beside WebhooksModule and runs them with `CommandFactory.run()`.
 */
export { WEBHOOK_COMMANDS, WebhooksCliModule } from './cli.module.js';
export type { WebhooksCliModuleOptions } from './cli-context.js';
export {
  CliLogger,
  webhooksCliRunOptions,
  webhooksCliSettings,
  type CommandFactoryRunOptions,
  type WebhooksCliSettings,
} from './settings.js';
export { CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './arguments.js';
export { PERF_TOPIC, type PerfResult } from './perf.command.js';
export type { HeldEndpoint } from './status.command.js';
