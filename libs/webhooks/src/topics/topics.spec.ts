import { describe, expect, it } from 'vitest';
import { isTopicPattern, topicMatches } from './topics.js';

describe('topicMatches', () => {
  it.each([
    ['order.created', 'order.created', true],
    ['order.created', 'order.updated', false],
    ['order.*', 'order.deleted', true],
    ['order.*', 'customer.deleted', false],
    ['*.deleted', 'customer.deleted', true],
    ['*.deleted', 'customer.created', false],
    ['*', 'anything.at_all', true],
    ['order', 'order.created', false],
    ['order.*', 'order.item.created', false],
    ['*.*', 'order.created', true],
  ])('%s ~ %s -> %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it('accepts only well-formed topics and patterns', () => {
    for (const ok of ['order.created', 'order.*', '*', '*.deleted', 'line_item.created']) expect(isTopicPattern(ok)).toBe(true);
    for (const bad of ['', 'order.', '.created', 'order..x', 'order.cre ated', 'ord*er.created', '1order.created']) {
      expect(isTopicPattern(bad)).toBe(false);
    }
  });
});
