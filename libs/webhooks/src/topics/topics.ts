/**
 * Topic grammar. A topic names what happened (`order.created`, `invoice.paid`); endpoints subscribe with patterns.
 */

const SEGMENT = /^(\*|[A-Za-z][A-Za-z0-9_-]*)$/;

/** A concrete topic: two or more dot-separated segments of letters, digits, `_` and `-`. */
export const CUSTOM_TOPIC = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;

/**
 * Whether a subscription pattern matches a topic. Patterns are dot-separated; `*` stands for one whole segment,
 * and a lone `*` matches every topic: `order.*` matches `order.created`, `*.deleted` matches `customer.deleted`.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === '*' || pattern === topic) return true;
  if (!pattern.includes('*')) return false;
  const p = pattern.split('.');
  const t = topic.split('.');
  if (p.length !== t.length) return false;
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== '*' && p[i] !== t[i]) return false;
  }
  return true;
}

/** Whether a string is a well-formed topic or pattern (`a.b`, `a.*`, `*.b`, `*`). */
export function isTopicPattern(value: string): boolean {
  return value.length <= 200 && value.split('.').every((s) => SEGMENT.test(s));
}
