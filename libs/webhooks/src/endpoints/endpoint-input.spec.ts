import { describe, expect, it } from 'vitest';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { NetworkPolicy } from '../security/network-policy.js';
import { validateEndpointInput, type EndpointRules } from './endpoint-input.js';

const known = ['order.created', 'order.updated', 'customer.created'];

describe('validateEndpointInput', () => {
  it('normalises a valid endpoint', () => {
    expect(
      validateEndpointInput({ url: 'https://example.com/hook', topics: ['order.*', 'order.*'], description: 'x' }, known, false),
    ).toEqual({
      url: 'https://example.com/hook',
      topics: ['order.*'],
      description: 'x',
    });
  });

  it.each([
    [{ topics: ['order.created'] }, 'url is required'],
    [{ url: 'not a url', topics: ['order.created'] }, 'is not a valid absolute URL'],
    [{ url: 'ftp://example.com', topics: ['order.created'] }, 'url must use http or https, not ftp'],
    [{ url: 'https://u:p@example.com', topics: ['order.created'] }, 'must not contain credentials'],
    [{ url: `https://example.com/${'a'.repeat(2100)}`, topics: ['order.created'] }, 'longer than 2048'],
    // 1,020 characters as given, 6,020 once normalised (each é is escaped as %C3%A9): the column holds 2,048.
    [{ url: `https://example.com/${'é'.repeat(1000)}`, topics: ['order.created'] }, 'longer than 2048 characters once normalised (6020)'],
    [{ url: 'https://example.com', topics: [] }, 'topics must be a non-empty list'],
    [{ url: 'https://example.com', topics: 'order.created' }, 'topics must be a non-empty list'],
    [{ url: 'https://example.com', topics: ['order.shipped'] }, '"order.shipped" match no known topic'],
    [{ url: 'https://example.com', topics: ['invoice.*'] }, '"invoice.*" match no known topic'],
    [{ url: 'https://example.com', topics: ['order created'] }, 'are not topics like'],
    [{ url: 'https://example.com', topics: ['order.created'], active: 'yes' }, 'active must be true or false'],
    [{ url: 'https://example.com', topics: ['order.created'], secret: 'x' }, 'unknown field "secret"'],
    [{ url: 'https://example.com', topics: ['order.created'], description: 'a\u0000b' }, 'description must not contain NUL characters'],
  ])('rejects %j', (input, message) => {
    expect(() => validateEndpointInput(input, known, false)).toThrow(WebhookValidationError);
    expect(() => validateEndpointInput(input, known, false)).toThrow(message);
  });

  it('lists every problem at once', () => {
    expect(() => validateEndpointInput({ url: 'ftp://x', topics: [] }, known, false)).toThrow(/url must use http.*; topics must be/);
  });

  it('allows a partial patch', () => {
    expect(validateEndpointInput({ active: false }, known, true)).toEqual({ active: false });
    expect(() => validateEndpointInput({ url: '' }, known, true)).toThrow('url is required');
    expect(() => validateEndpointInput(null, known, true)).toThrow('must be a JSON object');
  });
});

describe('endpoint URL and header rules', () => {
  const strict = { maxTimeoutMs: 30_000, allowHttp: false, network: new NetworkPolicy() };
  const create = (input: object, rules: EndpointRules = strict) =>
    validateEndpointInput({ topics: ['order.created'], ...input }, known, false, rules);

  it('requires https unless allowHttp, and refuses non-public literal hosts without I/O', () => {
    expect(() => create({ url: 'http://hooks.example.com/' })).toThrow('url must use https');
    expect(create({ url: 'https://hooks.example.com/' }).url).toBe('https://hooks.example.com/');
    expect(() => create({ url: 'https://10.0.0.1/' })).toThrow('url host 10.0.0.1, a private (RFC 1918) address');
    expect(() => create({ url: 'https://[::ffff:10.0.0.1]/' })).toThrow('private');
    expect(() => create({ url: 'https://localhost/' })).toThrow('loopback');
    expect(() => create({ url: 'https://169.254.169.254/' })).toThrow('cloud metadata');
    expect(() => create({ url: `https://example.com/${'a'.repeat(2100)}` })).toThrow('longer than 2048');
  });

  it('enforces allowedUrls patterns', () => {
    const rules = {
      ...strict,
      allowedUrls: ['https://hooks.example.com/in/', 'https://*.partner.example', /^https:\/\/exact\.example\/x$/],
    };
    expect(create({ url: 'https://hooks.example.com/in/orders' }, rules).url).toBe('https://hooks.example.com/in/orders');
    expect(create({ url: 'https://a.b.partner.example/any' }, rules).url).toBe('https://a.b.partner.example/any');
    expect(create({ url: 'https://exact.example/x' }, rules).url).toBe('https://exact.example/x');
    const segment = { ...strict, allowedUrls: ['https://t.example/tenant1'] };
    expect(create({ url: 'https://t.example/tenant1' }, segment).url).toBe('https://t.example/tenant1');
    expect(create({ url: 'https://t.example/tenant1/orders' }, segment).url).toBe('https://t.example/tenant1/orders');
    expect(() => create({ url: 'https://t.example/tenant10' }, segment)).toThrow('matches none');
    const unanchored = { ...strict, allowedUrls: [/exact\.example/] };
    expect(() => create({ url: 'https://exact.example.evil.io/' }, unanchored)).toThrow('matches none');
    for (const url of [
      'https://hooks.example.com/other',
      'https://partner.example/',
      'https://evilpartner.example/',
      'https://hooks.example.com.evil.io/in/',
      'https://exact.example/xy',
    ]) {
      expect(() => create({ url }, rules)).toThrow('matches none of the allowedUrls patterns');
    }
  });

  it('accepts custom headers, lower-cased, and rejects CR/LF, reserved names and bad names', () => {
    expect(create({ url: 'https://a.example/', headers: { 'X-Tenant': 'acme', Authorization: 'Bearer t' } }).headers).toEqual({
      'x-tenant': 'acme',
      authorization: 'Bearer t',
    });
    const bad: Array<[object, string]> = [
      [{ 'x-a': 'one\r\nx-injected: 1' }, 'must not contain CR, LF or NUL'],
      [{ 'x-a': 'one\nx' }, 'must not contain CR, LF or NUL'],
      [{ 'webhook-signature': 'v1,forged' }, 'cannot be overridden'],
      [{ 'Content-Type': 'text/plain' }, 'cannot be overridden'],
      [{ Connection: 'close' }, 'cannot be overridden'],
      [{ 'Transfer-Encoding': 'chunked' }, 'cannot be overridden'],
      [{ host: 'evil' }, 'cannot be overridden'],
      [{ 'svix-id': 'x' }, 'cannot be overridden'],
      [{ 'bad name': 'x' }, 'not a valid HTTP header name'],
      [{ 'x-a': 5 }, 'must have a string value'],
      [{ 'x-a': 'é€' }, 'cannot be sent in a header'],
      [{ 'Accept-Encoding': 'br' }, 'cannot be overridden'],
      [{ 'webhook-version': '2' }, 'cannot be overridden'],
      [{ 'x-a': 'a'.repeat(4000), 'x-b': 'b'.repeat(4000), 'x-c': 'c'.repeat(4000) }, 'add up to more than 8192 bytes'],
      [{ 'x-a': '1', 'X-A': '2' }, 'given twice'],
    ];
    for (const [headers, message] of bad)
      expect(() => create({ url: 'https://a.example/', headers }), JSON.stringify(headers)).toThrow(message);
    expect(() => create({ url: 'https://a.example/', headers: ['x'] })).toThrow('headers must be an object');
    // Names that exist on Object.prototype are ordinary header names.
    expect(create({ url: 'https://a.example/', headers: { constructor: 'x', toString: 'y' } }).headers).toEqual({
      constructor: 'x',
      tostring: 'y',
    });
  });
});
