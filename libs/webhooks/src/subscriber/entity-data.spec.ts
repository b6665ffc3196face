import { describe, expect, it } from 'vitest';
import type { RegisteredEntity } from '../registry/entity-registry.js';
import { keyText } from './entity-data.js';

/** An entity whose primary column is not among its payload columns: its key is written as a plain value. */
const entity = { columns: [], primaryColumn: {}, primaryValue: undefined } as unknown as RegisteredEntity;

class UserId {
  constructor(private readonly value: string) {}
  toJSON(): string {
    return this.value;
  }
}

describe('keyText', () => {
  it('writes a key as its payload does, as text', () => {
    expect(keyText(entity, 42)).toBe('42');
    expect(keyText(entity, 'ord_1')).toBe('ord_1');
    expect(keyText(entity, Buffer.from([0, 255, 1]))).toBe('AP8B');
    expect(keyText(entity, new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05.678Z');
    expect(keyText(entity, 10n)).toBe('10');
    expect(keyText(entity, new UserId('usr_9'))).toBe('usr_9'); // a transformer's value class: its JSON, unquoted
    expect(keyText(entity, { region: 'eu', n: 1 })).toBe('{"region":"eu","n":1}');
    expect(keyText(entity, null)).toBeNull();
    expect(keyText(entity, undefined)).toBeNull();
  });
});
