import { describe, expect, it } from 'vitest';
import { DEFAULT_REDACTED_PATTERNS, isRedacted, shapeChanges, shapeData } from './shaping.js';
import { jsonSafe } from './envelope.js';

describe('field shaping', () => {
  const rules = { exclude: new Set(['internal']), redact: new Set(['note']), redactPatterns: DEFAULT_REDACTED_PATTERNS, mask: '***' };

  it('drops, masks and keeps fields in data and changes', () => {
    const data = { id: 1, internal: 'x', note: 'n', passwordHash: 'h', api_key: 'k', resetToken: 't', total: '1.00', nothing: null };
    expect(shapeData(data, rules)).toEqual({
      id: 1,
      note: '***',
      passwordHash: '***',
      api_key: '***',
      resetToken: '***',
      total: '1.00',
      nothing: null,
    });
    expect(shapeChanges({ note: { old: 'a', new: 'b' }, internal: { old: 1, new: 2 }, total: { old: '1', new: '2' } }, rules)).toEqual({
      note: { old: '***', new: '***' },
      total: { old: '1', new: '2' },
    });
    expect(shapeData(data, { include: new Set(['id', 'note']), mask: '***', redact: new Set(['note']) })).toEqual({ id: 1, note: '***' });
  });

  it('matches redaction patterns ignoring case, _ and -', () => {
    for (const name of [
      'password',
      'PASSWORD',
      'user_password',
      'clientSecret',
      'x-api-key',
      'ApiKey',
      'accessToken',
      'ssn',
      'privateKey',
    ]) {
      expect(isRedacted(name, rules), name).toBe(true);
    }
    for (const name of ['status', 'total', 'keyboard', 'passenger']) expect(isRedacted(name, rules), name).toBe(false);
  });

  it('makes serializer output JSON-safe', () => {
    const a: Record<string, unknown> = {
      when: new Date('2026-01-01T00:00:00Z'),
      big: 2n ** 70n,
      bytes: Buffer.from('hi'),
      set: new Set([1]),
      map: new Map([['k', 1]]),
    };
    a.loop = a;
    a.fn = () => 1;
    a.nan = Number.NaN;
    const shared = { x: 1 };
    a.twice = [shared, shared];
    expect(jsonSafe(a)).toEqual({
      when: '2026-01-01T00:00:00.000Z',
      big: '1180591620717411303424',
      bytes: 'aGk=',
      set: [1],
      map: { k: 1 },
      loop: '[Circular]',
      nan: null,
      twice: [{ x: 1 }, { x: 1 }],
    });
  });
});
