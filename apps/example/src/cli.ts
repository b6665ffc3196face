import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { CliLogger, EXIT_FAILURE, webhooksCliRunOptions, webhooksCliSettings } from 'nestjs-outgoing-webhooks/cli';
import { CliModule } from './cli.module.js';
import { loadConfig } from './config.js';
import { resolveRedis } from './redis.js';

/**
 * `npm run cli -- <command>`: the library's operator commands against the example's configuration (the same
 * environment variables as `npm start`). Answers go to stdout (`--json` for scripts), logs and errors to stderr.
 */
const settings = webhooksCliSettings(process.argv.slice(2));
Logger.overrideLogger(new CliLogger());
/** The line saying a private Redis was started, as a warning: the queue the commands see is not the app's. */
class RedisNotice extends Logger {
  override log(message: string): void {
    this.warn(`${message} The commands see that Redis's queue, not the app's.`);
  }
}
const fail = (error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = EXIT_FAILURE;
};

try {
  const config = loadConfig();
  // migrate needs no Redis.
  const redis = settings.migrate ? undefined : await resolveRedis(config.redisUrl, new RedisNotice('Redis'));
  try {
    await CommandFactory.run(CliModule.register(config, redis?.url, settings), webhooksCliRunOptions());
  } finally {
    await redis?.stop();
  }
} catch (error) {
  fail(error);
}
// Whatever still holds the event loop (a Redis reconnect timer, a pool's idle socket) does not keep the answer waiting.
setTimeout(() => process.exit(), 2000).unref();
