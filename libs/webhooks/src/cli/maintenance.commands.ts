import { Command, Option } from 'nest-commander';
import { MigrationExecutor } from 'typeorm';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { WEBHOOK_MIGRATIONS } from '../migrations/index.js';
import { WebhooksCommand, type CommandOptions } from './command.js';
import { plural, time, type CliOutput } from './output.js';

@Command({ name: 'cleanup', description: 'apply the retention rules now (what the hourly job does); --dry-run only counts' })
export class CleanupCommand extends WebhooksCommand {
  @Option({ flags: '--dry-run', description: 'count what would be deleted, delete nothing' })
  parseDryRun(): boolean {
    return true;
  }

  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const retention = this.cli.retention;
    const { retentionDays, storeEvents } = this.cli.moduleOptions;
    const now = new Date();
    const rules = {
      olderThan: retentionDays > 0 ? new Date(now.getTime() - retentionDays * 86_400_000) : null,
      succeededAtOnce: !storeEvents,
    };
    const dryRun = options.dryRun === true;
    const result = dryRun ? await retention.preview(now) : { ...(await retention.run(now)), ...rules };
    out.result({ dryRun, ...result }, () => {
      if (!result.olderThan && !result.succeededAtOnce) return 'Retention is off (retentionDays: 0, storeEvents: true): nothing to delete.';
      const what = [
        ...(result.olderThan ? [`finished history created before ${time(result.olderThan)} (retentionDays: ${retentionDays})`] : []),
        ...(result.succeededAtOnce ? ['history whose deliveries all succeeded (storeEvents: false)'] : []),
      ].join(', and ');
      const counted = `${plural(result.events, 'event')} with ${plural(result.deliveries, 'delivery', 'deliveries')} and ${plural(result.attempts, 'attempt')}`;
      return `${dryRun ? 'Would delete' : 'Deleted'} ${counted}: ${what}.`;
    });
  }
}

@Command({ name: 'migrate', description: 'run the pending migrations of the DataSource (the library’s WEBHOOK_MIGRATIONS and the app’s)' })
export class MigrateCommand extends WebhooksCommand {
  @Option({ flags: '--dry-run', description: 'list the pending migrations, run none' })
  parseDryRun(): boolean {
    return true;
  }

  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const dataSource = this.cli.dataSource;
    if (dataSource.migrations.length === 0) {
      throw new WebhookConfigurationError(
        'The DataSource has no migrations: give TypeOrmModule.forRoot() migrations: [...WEBHOOK_MIGRATIONS, ...your own] ' +
          '(and synchronize: false) in the process that runs migrate.',
      );
    }
    const missing = WEBHOOK_MIGRATIONS.filter((M) => !dataSource.migrations.some((m) => m instanceof M)).map((M) => M.name);
    if (missing.length) process.stderr.write(`warning: the DataSource's migrations lack the library's ${missing.join(', ')}.\n`);
    const executor = new MigrationExecutor(dataSource);
    const pending = (await executor.getPendingMigrations()).map((m) => m.name);
    const dryRun = options.dryRun === true;
    const executed = dryRun ? [] : (await dataSource.runMigrations()).map((m) => m.name);
    const applied = (await executor.getExecutedMigrations()).length;
    out.result({ dryRun, pending: dryRun ? pending : [], executed, applied }, () => {
      if (dryRun)
        return pending.length
          ? `${plural(pending.length, 'pending migration')}:\n${pending.map((n) => `  ${n}`).join('\n')}`
          : 'No pending migration.';
      if (executed.length === 0) return `No pending migration (${plural(applied, 'migration')} applied).`;
      return `Ran ${plural(executed.length, 'migration')}:\n${executed.map((n) => `  ${n}`).join('\n')}\n${plural(applied, 'migration')} applied in all.`;
    });
  }
}
