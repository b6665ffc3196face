import { describe, expect, it } from 'vitest';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';
import { covers } from '../management/owner-scope.js';
import { WebhooksApiModule } from './webhooks-api.module.js';

describe('WebhooksApiModule.register', () => {
  const owner = () => 'a';

  it('refuses a bad path, owner or topics at start-up', () => {
    for (const path of ['', '/', 'a b', 'x?y', 42]) {
      expect(() => WebhooksApiModule.register({ path: path as string, owner })).toThrow(WebhookConfigurationError);
    }
    expect(() => WebhooksApiModule.register({ path: 'me', owner: 'a' as never })).toThrow(/owner must be a function/);
    expect(() => WebhooksApiModule.register({ path: 'me', owner, topics: ['order.'] })).toThrow(/topics must be a list/);
    expect(() => WebhooksApiModule.register({ path: 'me', owner, topics: 'order.*' as never })).toThrow(/topics must be a list/);
  });

  it('makes controllers under the path, without its outer slashes', () => {
    const module = WebhooksApiModule.register({ path: '/api/me/', owner });
    const paths = module.controllers!.map((c) => Reflect.getMetadata('path', c));
    expect(paths).toEqual(['api/me/webhook-endpoints', 'api/me/deliveries', 'api/me/event-types']);
    // Each mount has its own classes.
    expect(WebhooksApiModule.register({ path: 'api/me', owner }).controllers![0]).not.toBe(module.controllers![0]);
  });
});

describe('covers (an allowed pattern covers a subscription)', () => {
  it.each([
    ['*', '*', true],
    ['*', 'order.created', true],
    ['order.*', 'order.created', true],
    ['order.*', 'order.*', true],
    ['order.*', '*', false],
    ['order.*', '*.created', false],
    ['order.created', 'order.*', false],
    ['*.created', 'order.created', true],
    ['*.created', '*.created', true],
    ['order.*', 'order.item.created', false],
  ])('%s covers %s: %s', (allowed, pattern, expected) => {
    expect(covers(allowed, pattern)).toBe(expected);
  });
});
