import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { CommandFactory } from 'nest-commander';
import { randomBytes } from 'node:crypto';
import type { WebhooksModuleOptions } from '../webhooks.options.js';
import { EXIT_FAILURE, EXIT_USAGE } from './arguments.js';
import { commanderExit, reportError } from './command.js';
import type { WebhooksCliModuleOptions } from './cli-context.js';

/** The options object of `CommandFactory.run()` (nest-commander does not export its type). */
export type CommandFactoryRunOptions = Extract<NonNullable<Parameters<typeof CommandFactory.run>[1]>, { errorHandler?: unknown }>;

/** How a CLI process should be set up for the command it runs, decided from argv before the application starts. */
export interface WebhooksCliSettings {
  /** The command named on the command line (`status`, `endpoints`, ...); undefined when none is. */
  command: string | undefined;
  /**
   * WebhooksModule options to lay over the application's: no worker and no relay in the CLI process (the app's
   * workers deliver what the commands queue), except for `perf`, which runs a worker of its own on a queue of its
   * own and may send to its receiver on 127.0.0.1 over http.
   */
  webhooks: Pick<WebhooksModuleOptions, 'worker' | 'relayIntervalMs' | 'allowHttp' | 'allowPrivateNetworks'>;
  /** The Bull prefix to use, given the application's: for `perf` a prefix of its own (`<prefix>-perf-<random>`). */
  bullPrefix(appPrefix: string): string;
  /**
   * `migrate`: the process needs only TypeORM, connected with the migrations listed and neither `synchronize` nor
   * `migrationsRun`. Leave out Bull and WebhooksModule (its start-up reads the webhook tables, which may not exist
   * yet): the command finds the DataSource on its own.
   */
  migrate: boolean;
  /** For `WebhooksCliModule.register()`. */
  module: WebhooksCliModuleOptions;
}

/** The settings of a CLI process for `argv` (`process.argv.slice(2)`). */
export function webhooksCliSettings(argv: readonly string[] = process.argv.slice(2)): WebhooksCliSettings {
  const command = argv.find((a) => !a.startsWith('-'));
  if (command === 'perf') {
    const suffix = `-perf-${randomBytes(4).toString('hex')}`;
    return {
      command,
      webhooks: { worker: true, relayIntervalMs: 0, allowHttp: true, allowPrivateNetworks: true },
      bullPrefix: (prefix) => `${prefix}${suffix}`,
      migrate: false,
      module: { isolatedQueue: true },
    };
  }
  return {
    command,
    webhooks: { worker: false, relayIntervalMs: 0 },
    bullPrefix: (prefix) => prefix,
    migrate: command === 'migrate',
    module: {},
  };
}

/** A Nest logger writing every line to stderr, so that stdout holds only the command's answer (`--json`). */
export class CliLogger extends ConsoleLogger {
  constructor(levels: LogLevel[] = ['error', 'warn']) {
    super({ logLevels: levels });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

/**
 * Options for nest-commander's `CommandFactory.run()`: logs on stderr (errors and warnings), and exit codes that
 * scripts can rely on: 2 for bad usage (unknown command or option, missing argument), 0 after `--help`.
 */
export function webhooksCliRunOptions(options: CommandFactoryRunOptions = {}): CommandFactoryRunOptions {
  return {
    logger: new CliLogger(),
    // A start-up failure (the database does not answer) is an error to report with exit code 1, not an abort.
    abortOnError: false,
    // commander has printed its message and would exit at once with code 1: leave through the service handler.
    errorHandler: commanderExit,
    serviceErrorHandler: (error: Error) => {
      const e = error as Error & { exitCode?: number; printed?: boolean };
      process.exitCode = e.printed ? (e.exitCode ?? EXIT_USAGE) : EXIT_FAILURE;
      if (!e.printed) reportError(error);
    },
    ...options,
  };
}
