import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, secretKey, sign, signatureHeaders } from './signing.js';

describe('signing', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'order.created', data: { total: '1.00' } });

  it('matches the standardwebhooks reference signer', () => {
    const secret = generateSecret();
    const at = new Date('2026-11-24T10:00:00Z');
    const expected = new Webhook(secret).sign('evt_1', at, body);
    expect(sign('evt_1', Math.floor(at.getTime() / 1000), body, [secretKey(secret)])).toBe(expected);
  });

  it('produces headers the reference verifier accepts, with any one of several keys', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = signatureHeaders('evt_2', Math.floor(Date.now() / 1000), body, [secretKey(newSecret), secretKey(oldSecret)]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(newSecret).verify(body + ' ', headers)).toThrow();
  });

  it('generates whsec_ secrets of 24 to 64 random bytes', () => {
    expect(secretKey(generateSecret())).toHaveLength(32);
    expect(secretKey(generateSecret(24))).toHaveLength(24);
    expect(secretKey(generateSecret(64))).toHaveLength(64);
    expect(generateSecret()).not.toBe(generateSecret());
    expect(() => generateSecret(16)).toThrow('24 to 64');
    expect(() => generateSecret(65)).toThrow('24 to 64');
  });
});
