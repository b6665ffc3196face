import { describe, expect, it } from 'vitest';
import { clip, CliOutput, fields, ms, percent, table, time } from './output.js';
import { webhooksCliSettings } from './settings.js';

describe('CLI output', () => {
  it('renders tables with capitalised headers, padded columns and an unpadded last one', () => {
    const rows = [
      { id: 'ep_1', state: 'healthy', url: 'http://127.0.0.1:1/a' },
      { id: 'ep_22', state: 'critical', url: 'http://127.0.0.1:1/bb' },
    ];
    const text = table(rows, [
      ['id', (r) => r.id],
      ['state', (r) => r.state],
      ['url', (r) => r.url],
    ]);
    expect(text).toBe(
      ['ID     STATE     URL', 'ep_1   healthy   http://127.0.0.1:1/a', 'ep_22  critical  http://127.0.0.1:1/bb'].join('\n'),
    );
    expect(table([], [['id', () => '']], 'No endpoint.')).toBe('No endpoint.');
    expect(
      fields([
        ['URL', 'x'],
        ['Description', 'y'],
      ]),
    ).toBe('URL:          x\nDescription:  y');
  });

  it('formats values', () => {
    expect(time(new Date('2026-11-24T10:00:00.123Z'))).toBe('2026-11-24T10:00:00Z');
    expect(time(null)).toBe('-');
    expect([ms(12.4), ms(1250), ms(null)]).toEqual(['12 ms', '1.25 s', '-']);
    expect([percent(1), percent(0), percent(0.5), percent(1 / 3), percent(null)]).toEqual(['100%', '0%', '50%', '33.3%', '-']);
    expect(clip('HTTP 500; gave up after 4 attempts', 10)).toBe('HTTP 500;…');
    expect(clip('line one\n  line two')).toBe('line one line two');
  });

  it('prints JSON with --json and text otherwise', () => {
    const lines: string[] = [];
    new CliOutput(true, (t) => void lines.push(t)).result({ at: new Date('2026-11-24T10:00:00Z') }, () => 'text');
    new CliOutput(false, (t) => void lines.push(t)).result({}, () => 'text\n\n');
    expect(lines).toEqual(['{\n  "at": "2026-11-24T10:00:00.000Z"\n}\n', 'text\n']);
  });

  it('sets a process up for its command: no worker, except perf on a queue of its own; migrate on the database only', () => {
    const status = webhooksCliSettings(['status', '--json']);
    expect(status).toMatchObject({ command: 'status', webhooks: { worker: false, relayIntervalMs: 0 }, migrate: false, module: {} });
    expect(status.bullPrefix('bull')).toBe('bull');
    const perf = webhooksCliSettings(['perf', '--events', '10']);
    expect(perf).toMatchObject({ command: 'perf', webhooks: { worker: true, relayIntervalMs: 0 }, module: { isolatedQueue: true } });
    expect(perf.bullPrefix('bull')).toMatch(/^bull-perf-[0-9a-f]{8}$/);
    expect(webhooksCliSettings(['migrate']).migrate).toBe(true);
    expect(webhooksCliSettings(['--help']).command).toBeUndefined();
  });
});
