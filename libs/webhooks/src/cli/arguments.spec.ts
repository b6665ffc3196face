import { describe, expect, it } from 'vitest';
import { CliUsageError, parseIntegerOption, parseJsonOption, parseTimeOption } from './arguments.js';
import { reportError } from './command.js';
import { WebhookNotFoundError, WebhookValidationError } from '../errors/webhooks.errors.js';

describe('CLI arguments', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');

  it('reads --since as an ISO 8601 date or time, or a duration back from now', () => {
    expect(parseTimeOption('2026-11-24T10:30:00Z', '--since', now).toISOString()).toBe('2026-11-24T10:30:00.000Z');
    expect(parseTimeOption('2026-11-24T10:30:00.250+01:00', '--since', now).toISOString()).toBe('2026-11-24T09:30:00.250Z');
    expect(parseTimeOption('2026-11-20', '--since', now).toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(parseTimeOption('90s', '--since', now).getTime()).toBe(now - 90_000);
    expect(parseTimeOption('30m', '--since', now).getTime()).toBe(now - 30 * 60_000);
    expect(parseTimeOption('1.5h', '--since', now).getTime()).toBe(now - 90 * 60_000);
    expect(parseTimeOption('7d', '--since', now).getTime()).toBe(now - 7 * 86_400_000);
    expect(parseTimeOption('2w', '--until', now).getTime()).toBe(now - 14 * 86_400_000);
  });

  it('rejects anything else with the expected formats', () => {
    for (const bad of ['yesterday', '1', '24', '-1h', '2026-13-45', '2026-11-24T25:00:00Z', '', undefined, true]) {
      expect(() => parseTimeOption(bad, '--since', now), String(bad)).toThrow(CliUsageError);
    }
    expect(() => parseTimeOption('yesterday', '--since', now)).toThrow(
      '--since must be an ISO 8601 time such as 2026-11-24T00:00:00Z (or 2026-11-24), or a duration before now such as 30m, 24h or 7d (got "yesterday").',
    );
  });

  it('reads integers within bounds and JSON', () => {
    expect(parseIntegerOption('50', '--limit', 1, 200)).toBe(50);
    for (const bad of ['0', '201', '1.5', 'ten', '', '-3'])
      expect(() => parseIntegerOption(bad, '--limit', 1, 200), bad).toThrow(CliUsageError);
    expect(() => parseIntegerOption('500', '--limit', 1, 200)).toThrow('--limit must be an integer from 1 to 200 (got "500").');
    expect(parseJsonOption('{"orderId": 1}', '--data')).toEqual({ orderId: 1 });
    expect(parseJsonOption('null', '--data')).toBeNull();
    expect(() => parseJsonOption('{orderId: 1}', '--data')).toThrow(/^--data must be valid JSON/);
  });

  it('maps errors to exit codes: 2 for bad usage and invalid input, 1 for the rest', () => {
    const lines: string[] = [];
    const write = (text: string) => void lines.push(text);
    expect(reportError(new CliUsageError('--since is wrong.'), write)).toBe(2);
    expect(reportError(new WebhookValidationError('topics must be a list.'), write)).toBe(2);
    expect(reportError(new WebhookNotFoundError('Webhook endpoint', 'ep_x'), write)).toBe(1);
    expect(reportError(new Error('connect ECONNREFUSED 127.0.0.1:5432'), write)).toBe(1);
    expect(lines).toEqual([
      'error: --since is wrong.\n',
      'error: topics must be a list.\n',
      'error: Webhook endpoint "ep_x" does not exist.\n',
      'error: connect ECONNREFUSED 127.0.0.1:5432\n',
    ]);
  });
});
