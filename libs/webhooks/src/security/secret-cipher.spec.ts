import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { resolveOptions } from '../webhooks.options.js';
import { isEncrypted, parseEncryptionKeys, SecretCipher } from './secret-cipher.js';

const k1 = { id: 'k1', key: randomBytes(32).toString('base64') };
const k2 = { id: 'k2', key: randomBytes(32).toString('hex') };

describe('SecretCipher', () => {
  it('encrypts with the first key, bound to the row, and decrypts', () => {
    const cipher = new SecretCipher([k1]);
    const stored = cipher.encrypt('whsec_abc', 'webhook_secret:whs_1');
    expect(stored).toMatch(/^enc:v1:k1:[A-Za-z0-9+/]+=*$/);
    expect(stored).not.toContain('abc');
    expect(cipher.encrypt('whsec_abc', 'webhook_secret:whs_1')).not.toBe(stored); // random IV
    expect(cipher.decrypt(stored, 'webhook_secret:whs_1')).toBe('whsec_abc');
    expect(() => cipher.decrypt(stored, 'webhook_secret:whs_2')).toThrow('moved from another row');
  });

  it('detects tampering', () => {
    const cipher = new SecretCipher([k1]);
    const stored = cipher.encrypt('whsec_abc', 'ctx');
    const body = Buffer.from(stored.split(':')[3]!, 'base64');
    body[14] ^= 1;
    expect(() => cipher.decrypt(`enc:v1:k1:${body.toString('base64')}`, 'ctx')).toThrow(WebhookConfigurationError);
  });

  it('decrypts under any configured key, marks values under older keys stale, and names a missing key', () => {
    const old = new SecretCipher([k1]).encrypt('s', 'ctx');
    const rotated = new SecretCipher([k2, k1]);
    expect(rotated.decrypt(old, 'ctx')).toBe('s');
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.isStale(rotated.encrypt('s', 'ctx'))).toBe(false);
    expect(rotated.isStale('whsec_plain')).toBe(true);
    expect(() => new SecretCipher([k2]).decrypt(old, 'webhook_secret:whs_9')).toThrow(
      'webhook_secret:whs_9 is encrypted with key "k1", which is not among the configured encryption keys (k2)',
    );
  });

  it('passes values through without keys (development) and reads plaintext rows once keys are set', () => {
    const none = new SecretCipher([]);
    expect(none.enabled).toBe(false);
    expect(none.encrypt('whsec_x', 'ctx')).toBe('whsec_x');
    expect(isEncrypted('whsec_x')).toBe(false);
    expect(new SecretCipher([k1]).decrypt('whsec_x', 'ctx')).toBe('whsec_x');
  });

  it('rejects unusable keys with one clear message', () => {
    expect(
      () =>
        new SecretCipher([
          { id: 'k1', key: 'short' },
          { id: 'bad id', key: k1.key },
          { id: 'k2', key: k2.key },
          { id: 'k2', key: k2.key },
        ]),
    ).toThrow(/key "k1" must be 32 bytes.*key id "bad id".*key id "k2" is used twice/);
  });

  it('parses keys from one environment variable', () => {
    expect(parseEncryptionKeys(`k2:${k2.key}, k1:${k1.key}`)).toEqual([k2, k1]);
    expect(parseEncryptionKeys('')).toEqual([]);
    expect(() => parseEncryptionKeys('nokey')).toThrow('<id>:<base64 or hex key>');
  });

  it('refuses to start without keys when encryption is required (production)', () => {
    expect(() => resolveOptions({ requireEncryption: true })).toThrow(
      /encryptionKeys is empty, and secrets must not be stored in plaintext/,
    );
    expect(resolveOptions({ requireEncryption: true, encryptionKeys: [k1] }).encryptionKeys).toEqual([k1]);
    expect(resolveOptions({ requireEncryption: false }).encryptionKeys).toEqual([]);
  });
});
