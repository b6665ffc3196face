import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, secretKey, signatureHeaders } from '../signing/signing.js';
import { verifyWebhook, WebhookVerificationError, WebhookVerifier, type WebhookVerificationFailure } from './verify.js';

const NOW_MS = Date.parse('2026-11-24T10:00:00Z');
const NOW_S = NOW_MS / 1000;
const now = () => NOW_MS;
const body = JSON.stringify({ id: 'evt_1', type: 'order.created', data: { total: '1.00', note: 'naïve ☕' } });

function headersFor(secrets: string[], options: { id?: string; timestamp?: number; body?: string } = {}) {
  return signatureHeaders(
    options.id ?? 'msg_1',
    options.timestamp ?? NOW_S,
    options.body ?? body,
    secrets.map((s) => secretKey(s)),
  );
}

/** Runs `fn`, expects a WebhookVerificationError with `reason`, and returns it. */
function failure(fn: () => unknown, reason: WebhookVerificationFailure): WebhookVerificationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect((error as WebhookVerificationError).reason).toBe(reason);
    return error as WebhookVerificationError;
  }
  throw new Error(`expected a ${reason} failure, but verification passed`);
}

describe('verifyWebhook', () => {
  const secret = generateSecret();

  it('accepts a valid signature with one secret and returns id, timestamp, body and payload', () => {
    expect(verifyWebhook(body, headersFor([secret]), secret, { now })).toEqual({
      id: 'msg_1',
      timestamp: NOW_S,
      body,
      payload: JSON.parse(body),
    });
  });

  it('accepts a secret with or without the whsec_ prefix, and a list of secrets', () => {
    const headers = headersFor([secret]);
    expect(verifyWebhook(body, headers, secret.slice('whsec_'.length), { now }).id).toBe('msg_1');
    expect(verifyWebhook(body, headers, [generateSecret(), secret], { now }).id).toBe('msg_1');
  });

  it('verifies a header with two signatures on receivers that know only the old or only the new secret', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = headersFor([newSecret, oldSecret]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verifyWebhook(body, headers, oldSecret, { now }).id).toBe('msg_1');
    expect(verifyWebhook(body, headers, newSecret, { now }).id).toBe('msg_1');
    failure(() => verifyWebhook(body, headers, generateSecret(), { now }), 'invalid-signature');
  });

  it('verifies messages signed by the standardwebhooks reference signer', () => {
    const at = new Date(NOW_MS - 10_000);
    const headers = {
      'webhook-id': 'msg_ref',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_ref', at, body),
    };
    expect(verifyWebhook(body, headers, secret, { now }).payload).toEqual(JSON.parse(body));
    // And the reference verifier agrees with ours on our own signatures.
    const ours = headersFor([secret], { timestamp: Math.floor(Date.now() / 1000) });
    expect(new Webhook(secret).verify(body, ours)).toEqual(JSON.parse(body));
  });

  it('rejects a wrong secret', () => {
    const error = failure(() => verifyWebhook(body, headersFor([secret]), generateSecret(), { now }), 'invalid-signature');
    expect(error.message).toMatch(/No signature in webhook-signature matches/);
  });

  it('rejects a tampered body', () => {
    const headers = headersFor([secret]);
    failure(() => verifyWebhook(body.replace('1.00', '9.00'), headers, secret, { now }), 'invalid-signature');
    failure(() => verifyWebhook(body + ' ', headers, secret, { now }), 'invalid-signature');
  });

  it('rejects a tampered id or timestamp', () => {
    const headers = headersFor([secret]);
    failure(() => verifyWebhook(body, { ...headers, 'webhook-id': 'msg_2' }, secret, { now }), 'invalid-signature');
    const shifted = { ...headers, 'webhook-timestamp': String(NOW_S - 1) };
    failure(() => verifyWebhook(body, shifted, secret, { now }), 'invalid-signature');
  });

  it('rejects a timestamp 360 s old, with the age and tolerance in the message', () => {
    const headers = headersFor([secret], { timestamp: NOW_S - 360 });
    const error = failure(() => verifyWebhook(body, headers, secret, { now }), 'timestamp-too-old');
    expect(error.message).toBe('webhook-timestamp is 360 s in the past; the tolerance is 300 s.');
  });

  it('rejects a timestamp 360 s ahead', () => {
    const headers = headersFor([secret], { timestamp: NOW_S + 360 });
    const error = failure(() => verifyWebhook(body, headers, secret, { now }), 'timestamp-too-new');
    expect(error.message).toBe('webhook-timestamp is 360 s in the future; the tolerance is 300 s.');
  });

  it('accepts timestamps within the tolerance, either way, and honours toleranceSeconds', () => {
    for (const offset of [-299, -300, 299, 300]) {
      const headers = headersFor([secret], { timestamp: NOW_S + offset });
      expect(verifyWebhook(body, headers, secret, { now }).timestamp).toBe(NOW_S + offset);
    }
    const old = headersFor([secret], { timestamp: NOW_S - 360 });
    expect(verifyWebhook(body, old, secret, { now, toleranceSeconds: 600 }).id).toBe('msg_1');
    failure(
      () => verifyWebhook(body, headersFor([secret], { timestamp: NOW_S - 61 }), secret, { now, toleranceSeconds: 60 }),
      'timestamp-too-old',
    );
  });

  it('checks the timestamp before the signature', () => {
    const headers = headersFor([secret], { timestamp: NOW_S - 360 });
    failure(() => verifyWebhook(body, headers, generateSecret(), { now }), 'timestamp-too-old');
  });

  it('names the missing headers', () => {
    const headers = headersFor([secret]);
    const error = failure(() => verifyWebhook(body, {}, secret, { now }), 'missing-headers');
    expect(error.message).toContain('webhook-id, webhook-timestamp, webhook-signature');
    const noSignature = { 'webhook-id': headers['webhook-id'], 'webhook-timestamp': headers['webhook-timestamp'] };
    const one = failure(() => verifyWebhook(body, noSignature, secret, { now }), 'missing-headers');
    expect(one.message).toMatch(/^Missing webhook header webhook-signature /);
    failure(() => verifyWebhook(body, { ...headers, 'webhook-id': '' }, secret, { now }), 'missing-headers');
  });

  it('rejects a timestamp that is not digits only', () => {
    const headers = headersFor([secret]);
    for (const bad of ['soon', '1.5e9', `${NOW_S}.5`, `-${NOW_S}`, ` ${NOW_S}`, '9'.repeat(30)]) {
      const error = failure(() => verifyWebhook(body, { ...headers, 'webhook-timestamp': bad }, secret, { now }), 'invalid-timestamp');
      expect(error.message).toMatch(/^webhook-timestamp ".*" is not a Unix time in seconds/);
    }
  });

  it('accepts the svix-* header names', () => {
    const headers = headersFor([secret]);
    const svix = {
      'svix-id': headers['webhook-id'],
      'svix-timestamp': headers['webhook-timestamp'],
      'svix-signature': headers['webhook-signature'],
    };
    expect(verifyWebhook(body, svix, secret, { now }).id).toBe('msg_1');
    const error = failure(
      () => verifyWebhook(body, { ...svix, 'svix-timestamp': String(NOW_S - 400) }, secret, { now }),
      'timestamp-too-old',
    );
    expect(error.message).toMatch(/^svix-timestamp is 400 s in the past/);
  });

  it('accepts a WHATWG Headers instance and header names in any case', () => {
    const headers = headersFor([secret]);
    expect(verifyWebhook(body, new Headers(headers), secret, { now }).id).toBe('msg_1');
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(body, upper, secret, { now }).id).toBe('msg_1');
    failure(() => verifyWebhook(body, new Headers(), secret, { now }), 'missing-headers');
  });

  it('accepts string[] header values', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const headers = headersFor([a, b]);
    const [sigA, sigB] = headers['webhook-signature'].split(' ');
    expect(verifyWebhook(body, { ...headers, 'webhook-signature': [sigA!, sigB!] }, b, { now }).id).toBe('msg_1');
  });

  it('accepts a Buffer body, used byte for byte', () => {
    const headers = headersFor([secret]);
    const verified = verifyWebhook(Buffer.from(body, 'utf8'), headers, secret, { now });
    expect(verified.body).toBe(body);
    expect(verified.payload).toEqual(JSON.parse(body));
    failure(() => verifyWebhook(Buffer.from(body, 'latin1'), headers, secret, { now }), 'invalid-signature');
  });

  it('ignores other signature versions and malformed entries', () => {
    const headers = headersFor([secret]);
    const v1 = headers['webhook-signature'];
    const withOthers = `v1a,${Buffer.alloc(64).toString('base64')} v2,abc v1,short ${v1} garbage`;
    expect(verifyWebhook(body, { ...headers, 'webhook-signature': withOthers }, secret, { now }).id).toBe('msg_1');
    // The same bytes under another version label do not count.
    const relabelled = v1.replace(/^v1,/, 'v1a,');
    const error = failure(() => verifyWebhook(body, { ...headers, 'webhook-signature': relabelled }, secret, { now }), 'invalid-signature');
    expect(error.message).toMatch(/no v1 signature of 32 bytes/);
  });

  it('rejects a missing or invalid secret with no-secret', () => {
    const headers = headersFor([secret]);
    for (const bad of [[], '', 'whsec_', 'whsec_not base64!', [secret, ''], undefined as unknown as string]) {
      failure(() => verifyWebhook(body, headers, bad, { now }), 'no-secret');
    }
  });

  it('throws invalid-payload for a correctly signed body that is not JSON, and only after the signature', () => {
    const text = 'not json';
    failure(() => verifyWebhook(text, headersFor([secret], { body: text }), secret, { now }), 'invalid-payload');
    failure(() => verifyWebhook(text, headersFor([generateSecret()], { body: text }), secret, { now }), 'invalid-signature');
  });

  it('never puts a secret or an expected signature in a message', () => {
    const messages: string[] = [];
    const keyBase64 = secret.slice('whsec_'.length);
    const good = headersFor([secret]);
    const expectedSignature = good['webhook-signature'].slice('v1,'.length);
    const attempts: Array<() => unknown> = [
      () => verifyWebhook(body, good, generateSecret(), { now }),
      () => verifyWebhook(body, { ...good, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') }, secret, { now }),
      () => verifyWebhook(body + 'x', good, secret, { now }),
      () => verifyWebhook(body, headersFor([secret], { timestamp: NOW_S - 999 }), secret, { now }),
      () => verifyWebhook(body, {}, secret, { now }),
      () => verifyWebhook(body, good, [secret, 'whsec_!!'], { now }),
      () => verifyWebhook(body, good, 'not-a-secret-' + keyBase64, { now }),
    ];
    for (const attempt of attempts) {
      try {
        attempt();
      } catch (error) {
        messages.push((error as Error).message);
      }
    }
    expect(messages).toHaveLength(attempts.length);
    for (const message of messages) {
      expect(message).not.toContain(secret);
      expect(message).not.toContain(keyBase64);
      expect(message).not.toContain(expectedSignature);
    }
  });

  it('WebhookVerifier reuses its keys across requests', () => {
    const verifier = new WebhookVerifier([secret], { now });
    expect(verifier.verify(body, headersFor([secret], { id: 'a' })).id).toBe('a');
    expect(verifier.verify(body, headersFor([secret], { id: 'b' })).id).toBe('b');
    expect(() => new WebhookVerifier(secret, { toleranceSeconds: -1 })).toThrow(/toleranceSeconds/);
  });
});
