import { Injectable } from '@nestjs/common';
import { CommandRunner, Option } from 'nest-commander';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './arguments.js';
import { CliContext } from './cli-context.js';
import { CliOutput } from './output.js';

/** commander's Command, as nest-commander (which depends on commander) hands it over. */
type Command = Parameters<CommandRunner['setCommand']>[0];

/** The options commander hands a command: raw strings (flags: `true`), checked by the command. */
export type CommandOptions = Record<string, unknown>;

/**
 * A webhooks command: `--json` for scripts, and exit codes set from the outcome (0, 1 for a failure such as an
 * unknown id, 2 for bad arguments) with the error on stderr. The process exit code is set, not forced, so the
 * application closes its connections first.
 */
@Injectable()
export abstract class WebhooksCommand extends CommandRunner {
  constructor(protected readonly cli: CliContext) {
    super();
  }

  override setCommand(command: Command): this {
    return super.setCommand(exitThroughHandler(command));
  }

  @Option({ flags: '--json', description: 'print the answer as JSON (for scripts) instead of text' })
  parseJson(): boolean {
    return true;
  }

  async run(params: string[], options: CommandOptions = {}): Promise<void> {
    const out = new CliOutput(options.json === true);
    try {
      process.exitCode = (await this.execute(params, options, out)) ?? EXIT_OK;
    } catch (error) {
      process.exitCode = reportError(error);
    }
  }

  /** Does the work and prints the answer; returns the exit code (default 0). */
  protected abstract execute(params: string[], options: CommandOptions, out: CliOutput): Promise<number | void>;
}

/** Writes `error: <message>` to stderr; answers the exit code. */
export function reportError(error: unknown, write: (text: string) => void = (text) => void process.stderr.write(text)): number {
  const message = error instanceof Error ? error.message : String(error);
  write(`error: ${message}\n`);
  return error instanceof CliUsageError || error instanceof WebhookValidationError ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * commander ends the process itself on bad usage (`process.exit(1)` from a subcommand, which the root's exit
 * override does not reach). Thrown instead, marked as already printed, it reaches `webhooksCliRunOptions`'s
 * service error handler, which sets exit code 2 (0 after `--help`) and lets the application close.
 */
export function exitThroughHandler<T extends Command>(command: T): T {
  command.exitOverride(commanderExit);
  return command;
}

/** The error thrown for commander's exit: `exitCode` 0 after help or version, else 2. */
export function commanderExit(error: { message: string; exitCode?: number }): never {
  throw Object.assign(new Error(error.message), { exitCode: error.exitCode === 0 ? EXIT_OK : EXIT_USAGE, printed: true });
}

/** A command that only groups subcommands (`endpoints`, `deliveries`): its default subcommand does the work. */
export abstract class CommandGroup extends CommandRunner {
  override setCommand(command: Command): this {
    return super.setCommand(exitThroughHandler(command));
  }

  async run(): Promise<void> {
    // A default subcommand takes every call: commander never gets here.
  }
}
