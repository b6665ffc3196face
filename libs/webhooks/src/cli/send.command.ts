import { Command, Option } from 'nest-commander';
import { parseJsonOption, stringOption } from './arguments.js';
import { WebhooksCommand, type CommandOptions } from './command.js';
import type { CliOutput } from './output.js';

@Command({
  name: 'send',
  arguments: '<topic>',
  description: 'record a custom event (a declared topic) in the outbox; the workers deliver it like any other',
})
export class SendCommand extends WebhooksCommand {
  @Option({ flags: '--data <json>', description: 'the event’s data, as JSON', required: true })
  parseData(value: string): string {
    return value;
  }

  @Option({ flags: '--owner <ownerId>', description: 'the owner (tenant) the event belongs to' })
  parseOwner(value: string): string {
    return value;
  }

  @Option({ flags: '--entity-id <id>', description: 'the id of the entity the event is about (for ids filters)' })
  parseEntityId(value: string): string {
    return value;
  }

  protected async execute([topic]: string[], options: CommandOptions, out: CliOutput): Promise<void> {
    const data = parseJsonOption(options.data, '--data');
    const owner = stringOption(options.owner) ?? null;
    const entityId = stringOption(options.entityId);
    const eventId = await this.cli.webhooks.emit(topic, data, { owner, ...(entityId === undefined ? {} : { entityId }) });
    out.result({ eventId, topic, owner }, () =>
      eventId
        ? `Recorded ${eventId} (${topic}${owner ? ` for owner ${owner}` : ''}) in the outbox; it is queued for its endpoints.`
        : `No active endpoint subscribes to ${topic}${owner ? ` for owner ${owner}` : ''}: nothing was recorded.`,
    );
  }
}
