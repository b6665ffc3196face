import { Command, Option, SubCommand } from 'nest-commander';
import { probeNote, type EndpointView } from '../management/views.js';
import { EXIT_FAILURE, parseJsonOption, stringOption } from './arguments.js';
import { CommandGroup, WebhooksCommand, type CommandOptions } from './command.js';
import { clip, fields, ms, percent, table, time, type CliOutput } from './output.js';

/** The endpoint table of `endpoints list`. */
export function endpointTable(endpoints: readonly EndpointView[]): string {
  return table(
    endpoints,
    [
      ['id', (e) => e.id],
      ['state', (e) => e.health.state],
      ['circuit', (e) => (e.active ? (e.delivery?.circuit ?? '?') : '-')],
      ['success', (e) => percent(e.health.successRate)],
      ['failures', (e) => String(e.health.consecutiveFailures)],
      ['owner', (e) => e.ownerId ?? '-'],
      ['topics', (e) => clip(e.topics.join(','), 40)],
      ['url', (e) => e.url],
    ],
    'No endpoint.',
  );
}

/** Every field of one endpoint, as `endpoints show` prints it. */
export function endpointDetails(e: EndpointView): string {
  const json = (v: unknown) => (v === null || v === undefined ? '-' : JSON.stringify(v));
  const d = e.delivery;
  return fields([
    ['ID', e.id],
    ['URL', `${e.method} ${e.url}`],
    ['Description', e.description ?? '-'],
    ['Owner', e.ownerId ?? '- (operator endpoint: every owner’s events)'],
    ['Topics', e.topics.join(', ')],
    ['Active', e.active ? 'yes' : `no (${e.health.disabledReason ?? 'disabled'} at ${time(e.health.disabledAt)})`],
    ['Health', e.health.state],
    [
      'Success rate',
      `${percent(e.health.successRate)} (${e.health.recent.succeeded} succeeded, ${e.health.recent.failed} failed recently)`,
    ],
    ['Failures in a row', String(e.health.consecutiveFailures)],
    ['Last success', time(e.health.lastSuccessAt)],
    ['Last failure', time(e.health.lastFailureAt)],
    ['Failing since', time(e.health.failingSince)],
    [
      'Delivery',
      d
        ? `circuit ${d.circuit}${d.circuitOpenedAt ? ` since ${time(d.circuitOpenedAt)}` : ''}` +
          `${probeNote(d.circuitRetryAt, Date.now(), time)}, ${d.inFlight} in flight, ${d.held} held` +
          `${d.pausedUntil ? `, paused until ${time(d.pausedUntil)}` : ''}`
        : 'unknown (Redis did not answer)',
    ],
    ['Timeout', e.timeoutMs === null ? 'module default' : ms(e.timeoutMs)],
    ['Retry schedule', e.retrySchedule === null ? 'module default' : e.retrySchedule.map((x) => ms(x)).join(', ')],
    ['Max in flight', e.maxInFlight === null ? 'module default' : String(e.maxInFlight)],
    ['Rate limit', e.rateLimit === null ? 'module default' : `${e.rateLimit.max} per ${ms(e.rateLimit.perMs)}`],
    ['Headers', json(e.headers)],
    ['Filters', json(e.filters)],
    ['Fields', json(e.fields)],
    ['Transform', e.transform ?? '-'],
    ['Header provider', e.headerProvider ?? '-'],
    ['Auth', e.auth ? `OAuth2 client credentials at ${e.auth.tokenUrl}` : '-'],
    ['Created', time(e.createdAt)],
    ['Updated', time(e.updatedAt)],
  ]);
}

@SubCommand({ name: 'list', description: 'every endpoint with its health state, newest first', options: { isDefault: true } })
export class EndpointsListCommand extends WebhooksCommand {
  @Option({ flags: '--owner <ownerId>', description: 'only this owner’s endpoints' })
  parseOwner(value: string): string {
    return value;
  }

  protected async execute(_params: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const owner = stringOption(options.owner);
    const endpoints = await this.cli.webhooks.listEndpoints(owner === undefined ? {} : { ownerId: owner });
    out.result(endpoints, () => endpointTable(endpoints));
  }
}

@SubCommand({ name: 'show', arguments: '<endpointId>', description: 'one endpoint: its settings, health and delivery state' })
export class EndpointsShowCommand extends WebhooksCommand {
  protected async execute([id]: string[], _options: CommandOptions, out: CliOutput): Promise<void> {
    const endpoint = await this.cli.webhooks.getEndpoint(id);
    out.result(endpoint, () => endpointDetails(endpoint));
  }
}

@SubCommand({ name: 'enable', arguments: '<endpointId>', description: 'enable an endpoint (its health starts again as untested)' })
export class EndpointsEnableCommand extends WebhooksCommand {
  protected async execute([id]: string[], _options: CommandOptions, out: CliOutput): Promise<void> {
    const endpoint = await this.cli.webhooks.enable(id);
    out.result(endpoint, () => `Enabled ${endpoint.id} (${endpoint.url}); health ${endpoint.health.state}.`);
  }
}

@SubCommand({
  name: 'disable',
  arguments: '<endpointId>',
  description: 'disable an endpoint; its pending deliveries fail (recover them after enabling it)',
})
export class EndpointsDisableCommand extends WebhooksCommand {
  @Option({ flags: '--reason <text>', description: 'why, recorded on the endpoint' })
  parseReason(value: string): string {
    return value;
  }

  protected async execute([id]: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const endpoint = await this.cli.webhooks.disable(id, stringOption(options.reason));
    out.result(endpoint, () => `Disabled ${endpoint.id} (${endpoint.url}): ${endpoint.health.disabledReason ?? 'disabled'}`);
  }
}

@SubCommand({
  name: 'test',
  arguments: '<endpointId>',
  description: 'send a signed test event now and show the answer (exit 1 when it is not a 2xx)',
})
export class EndpointsTestCommand extends WebhooksCommand {
  @Option({ flags: '--topic <topic>', description: 'the test event’s topic (default webhook.test)' })
  parseTopic(value: string): string {
    return value;
  }

  @Option({ flags: '--data <json>', description: 'the test event’s data, as JSON' })
  parseData(value: string): string {
    return value;
  }

  protected async execute([id]: string[], options: CommandOptions, out: CliOutput): Promise<number> {
    const topic = stringOption(options.topic);
    const payload = options.data === undefined ? undefined : parseJsonOption(options.data, '--data');
    const result = await this.cli.webhooks.sendTest(id, { ...(topic ? { topic } : {}), ...(payload === undefined ? {} : { payload }) });
    out.result(result, () =>
      [
        result.ok
          ? `Test delivery ${result.deliveryId} succeeded: HTTP ${result.status} in ${ms(result.durationMs)}.`
          : `Test delivery ${result.deliveryId} failed after ${ms(result.durationMs)}: ${result.error}`,
        ...(result.responseBody ? [`Response body: ${clip(result.responseBody, 200)}`] : []),
      ].join('\n'),
    );
    return result.ok ? 0 : EXIT_FAILURE;
  }
}

export const ENDPOINT_SUBCOMMANDS = [
  EndpointsListCommand,
  EndpointsShowCommand,
  EndpointsEnableCommand,
  EndpointsDisableCommand,
  EndpointsTestCommand,
];

@Command({ name: 'endpoints', description: 'list, show, enable, disable and test endpoints', subCommands: ENDPOINT_SUBCOMMANDS })
export class EndpointsCommand extends CommandGroup {}
