import type { Changes } from './envelope.js';

/** Field names that are masked by default: any name containing one of these, ignoring case, `_` and `-`. */
export const DEFAULT_REDACTED_PATTERNS = ['password', 'passwd', 'secret', 'token', 'apikey', 'privatekey', 'ssn'];
export const DEFAULT_MASK = '[REDACTED]';

/** Which top-level fields of `data` (and `changes`) are sent, and which are masked. */
export interface FieldRules {
  /** When set, only these fields. */
  include?: ReadonlySet<string>;
  exclude?: ReadonlySet<string>;
  /** Masked by exact name. */
  redact?: ReadonlySet<string>;
  /** Masked by pattern (substring of the normalised name). */
  redactPatterns?: readonly string[];
  mask: string;
}

const normalise = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Whether a field is masked by these rules. */
export function isRedacted(key: string, rules: FieldRules): boolean {
  if (rules.redact?.has(key)) return true;
  if (!rules.redactPatterns?.length) return false;
  const name = normalise(key);
  return rules.redactPatterns.some((p) => name.includes(p));
}

function kept(key: string, rules: FieldRules): boolean {
  return (!rules.include || rules.include.has(key)) && !rules.exclude?.has(key);
}

/** `data` with the rules applied (a new object; the input is not changed). */
export function shapeData(data: Record<string, unknown>, rules: FieldRules): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!kept(key, rules)) continue;
    out[key] = isRedacted(key, rules) && value !== null && value !== undefined ? rules.mask : value;
  }
  return out;
}

/** `changes` with the same rules: excluded fields vanish, masked ones keep only the fact that they changed. */
export function shapeChanges(changes: Changes, rules: FieldRules): Changes {
  const out: Changes = {};
  for (const [key, change] of Object.entries(changes)) {
    if (!kept(key, rules)) continue;
    out[key] = isRedacted(key, rules) ? { old: rules.mask, new: rules.mask } : change;
  }
  return out;
}

/** Whether rules change anything (lets the hot path skip shaping). */
export function hasRules(rules: FieldRules | undefined): rules is FieldRules {
  return !!rules && (!!rules.include || !!rules.exclude?.size || !!rules.redact?.size || !!rules.redactPatterns?.length);
}
