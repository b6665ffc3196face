import { describe, expect, it } from 'vitest';
import { WebhookValidationError } from '../errors/webhooks.errors.js';
import { validateEndpointInput } from './endpoint-input.js';

const known = ['order.created', 'order.updated', 'customer.created'];

describe('validateEndpointInput', () => {
  it('normalises a valid endpoint', () => {
    expect(validateEndpointInput({ url: 'https://example.com/hook', topics: ['order.*', 'order.*'], description: 'x' }, known, false)).toEqual({
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
    [{ url: 'https://example.com', topics: [] }, 'topics must be a non-empty list'],
    [{ url: 'https://example.com', topics: 'order.created' }, 'topics must be a non-empty list'],
    [{ url: 'https://example.com', topics: ['order.shipped'] }, '"order.shipped" match no known topic'],
    [{ url: 'https://example.com', topics: ['invoice.*'] }, '"invoice.*" match no known topic'],
    [{ url: 'https://example.com', topics: ['order created'] }, 'are not topics like'],
    [{ url: 'https://example.com', topics: ['order.created'], active: 'yes' }, 'active must be true or false'],
    [{ url: 'https://example.com', topics: ['order.created'], secret: 'x' }, 'unknown field "secret"'],
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
