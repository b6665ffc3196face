import { Command, Option, SubCommand } from 'nest-commander';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../entities/index.js';
import type { DeliveryView } from '../management/views.js';
import { CliUsageError, parseIntegerOption, parseTimeOption, stringOption } from './arguments.js';
import { CommandGroup, WebhooksCommand, type CommandOptions } from './command.js';
import { clip, plural, table, time, type CliOutput } from './output.js';

/** The delivery table of `deliveries list`. */
export function deliveryTable(deliveries: readonly DeliveryView[]): string {
  return table(
    deliveries,
    [
      ['id', (d) => d.id],
      ['created', (d) => time(d.createdAt)],
      ['status', (d) => d.status],
      ['attempts', (d) => String(d.attemptCount)],
      ['topic', (d) => d.topic],
      ['endpoint', (d) => d.endpointId],
      ['last answer', (d) => (d.lastError ? clip(d.lastError, 60) : d.lastResponseStatus === null ? '-' : `HTTP ${d.lastResponseStatus}`)],
    ],
    'No delivery matches.',
  );
}

@SubCommand({ name: 'list', description: 'deliveries across endpoints, newest first', options: { isDefault: true } })
export class DeliveriesListCommand extends WebhooksCommand {
  @Option({ flags: '--failed', description: 'only failed deliveries (same as --status failed)' })
  parseFailed(): boolean {
    return true;
  }

  @Option({ flags: '--status <status>', description: `only this status: ${DELIVERY_STATUSES.join(', ')} (comma-separated for several)` })
  parseStatus(value: string): string {
    return value;
  }

  @Option({ flags: '--since <time>', description: 'created at or after: ISO 8601 (2026-11-24T00:00:00Z) or a duration ago (30m, 24h, 7d)' })
  parseSince(value: string): string {
    return value;
  }

  @Option({ flags: '--until <time>', description: 'created before (same formats as --since)' })
  parseUntil(value: string): string {
    return value;
  }

  @Option({ flags: '--endpoint <endpointId>', description: 'only this endpoint’s deliveries' })
  parseEndpoint(value: string): string {
    return value;
  }

  @Option({ flags: '--topic <topic>', description: 'only this topic' })
  parseTopic(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: 'at most this many, 1 to 200 (default 50)' })
  parseLimit(value: string): string {
    return value;
  }

  @Option({ flags: '--before <deliveryId>', description: 'older than this delivery (the last id of the previous page)' })
  parseBefore(value: string): string {
    return value;
  }

  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const statuses = new Set<DeliveryStatus>(options.failed === true ? ['failed'] : []);
    for (const s of (stringOption(options.status) ?? '').split(',').filter(Boolean)) {
      if (!(DELIVERY_STATUSES as readonly string[]).includes(s.trim())) {
        throw new CliUsageError(`--status must be one of ${DELIVERY_STATUSES.join(', ')} (got ${JSON.stringify(s)}).`);
      }
      statuses.add(s.trim() as DeliveryStatus);
    }
    const deliveries = await this.cli.webhooks.searchDeliveries({
      status: statuses.size ? [...statuses] : undefined,
      endpointId: stringOption(options.endpoint),
      topic: stringOption(options.topic),
      since: options.since === undefined ? undefined : parseTimeOption(options.since, '--since'),
      until: options.until === undefined ? undefined : parseTimeOption(options.until, '--until'),
      limit: options.limit === undefined ? undefined : parseIntegerOption(options.limit, '--limit', 1, 200),
      before: stringOption(options.before),
    });
    out.result(deliveries, () => deliveryTable(deliveries));
  }
}

@Command({
  name: 'deliveries',
  description: 'the delivery log: deliveries list [--failed] [--since] [--endpoint]',
  subCommands: [DeliveriesListCommand],
})
export class DeliveriesCommand extends CommandGroup {}

@Command({
  name: 'redeliver',
  arguments: '<deliveryId>',
  description: 'send a finished delivery again, same webhook-id, as a fresh round of the retry schedule',
})
export class RedeliverCommand extends WebhooksCommand {
  protected async execute([id]: string[], _options: CommandOptions, out: CliOutput): Promise<void> {
    const delivery = await this.cli.webhooks.redeliver(id);
    out.result(
      delivery,
      () => `Queued ${delivery.id} (${delivery.topic} to ${delivery.endpointId}) again as a fresh round; status now ${delivery.status}.`,
    );
  }
}

@Command({
  name: 'recover',
  arguments: '<endpointId>',
  description: 'send again every failed delivery of an endpoint created in a time range (after an outage)',
})
export class RecoverCommand extends WebhooksCommand {
  @Option({
    flags: '--since <time>',
    description: 'failed deliveries created at or after: ISO 8601 or a duration ago (24h)',
    required: true,
  })
  parseSince(value: string): string {
    return value;
  }

  @Option({ flags: '--until <time>', description: 'and before (default now)' })
  parseUntil(value: string): string {
    return value;
  }

  protected async execute([id]: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const since = parseTimeOption(options.since, '--since');
    const until = options.until === undefined ? new Date() : parseTimeOption(options.until, '--until');
    const { count } = await this.cli.webhooks.recover(id, { since, until });
    out.result(
      { endpointId: id, since, until, count },
      () =>
        `Scheduled ${plural(count, 'failed delivery', 'failed deliveries')} of ${id} created from ${time(since)} to ${time(until)} again.`,
    );
  }
}
