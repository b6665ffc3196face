import { Command, Option } from 'nest-commander';
import type { EndpointStats } from '../health/delivery-stats.js';
import { parseIntegerOption, parseTimeOption } from './arguments.js';
import { WebhooksCommand, type CommandOptions } from './command.js';
import { clip, count, ms, percent, table, time, type CliOutput } from './output.js';

/** `--since`/`--until` of a report. */
function range(options: CommandOptions): { since?: Date; until?: Date } {
  return {
    ...(options.since === undefined ? {} : { since: parseTimeOption(options.since, '--since') }),
    ...(options.until === undefined ? {} : { until: parseTimeOption(options.until, '--until') }),
  };
}

const SINCE = 'from: ISO 8601 (2026-11-24T00:00:00Z) or a duration ago (30m, 24h, 7d); default 24h';
const UNTIL = 'up to (same formats; default now)';

/** A report over `--since`/`--until` (the options are declared once, here). */
abstract class RangeReportCommand extends WebhooksCommand {
  @Option({ flags: '--since <time>', description: SINCE })
  parseSince(value: string): string {
    return value;
  }

  @Option({ flags: '--until <time>', description: UNTIL })
  parseUntil(value: string): string {
    return value;
  }
}

@Command({ name: 'stats', description: 'per endpoint over a time range: deliveries, success rate, p50/p95 attempt duration' })
export class StatsCommand extends RangeReportCommand {
  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const stats = await this.cli.webhooks.deliveryStats(range(options));
    out.result(stats, () => {
      type Row = Omit<EndpointStats, 'endpointId' | 'url' | 'ownerId'> & { endpointId: string; url: string };
      const rows: Row[] = [...stats.endpoints, { ...stats.total, endpointId: 'all', url: '' }];
      const body = stats.endpoints.length
        ? table(rows, [
            ['endpoint', (r) => r.endpointId],
            ['deliveries', (r) => count(r.deliveries.total)],
            ['succeeded', (r) => count(r.deliveries.succeeded)],
            ['failed', (r) => count(r.deliveries.failed)],
            ['pending', (r) => count(r.deliveries.pending)],
            ['success', (r) => percent(r.successRate)],
            ['attempts', (r) => count(r.attempts.total)],
            ['p50', (r) => ms(r.attempts.p50Ms)],
            ['p95', (r) => ms(r.attempts.p95Ms)],
            ['url', (r) => r.url],
          ])
        : 'No delivery or attempt in this range.';
      return `Deliveries and attempts from ${time(stats.since)} to ${time(stats.until)}:\n${body}`;
    });
  }
}

@Command({ name: 'errors', description: 'the most frequent errors of failed attempts over a time range, with the endpoints affected' })
export class ErrorsCommand extends RangeReportCommand {
  @Option({ flags: '--limit <n>', description: 'how many errors, 1 to 100 (default 10)' })
  parseLimit(value: string): string {
    return value;
  }

  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const limit = options.limit === undefined ? undefined : parseIntegerOption(options.limit, '--limit', 1, 100);
    const summary = await this.cli.webhooks.errorSummary({ ...range(options), limit });
    out.result(summary, () => {
      const head =
        `${count(summary.failedAttempts)} failed attempts, ${count(summary.distinctErrors)} different errors, ` +
        `from ${time(summary.since)} to ${time(summary.until)}`;
      if (summary.errors.length === 0) return `${head}.`;
      const body = table(summary.errors, [
        ['count', (e) => count(e.count)],
        ['last seen', (e) => time(e.lastSeenAt)],
        ['endpoints', (e) => clip(e.endpoints.map((x) => `${x.endpointId} (${count(x.count)})`).join(', '), 70)],
        ['error', (e) => clip(e.error, 80)],
      ]);
      return `${head}:\n${body}`;
    });
  }
}
