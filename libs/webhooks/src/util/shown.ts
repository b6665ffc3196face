/** How deep an API caller's JSON may nest (the library's own values are far shallower). */
export const MAX_INPUT_DEPTH = 32;

/**
 * A caller's value as quoted in an error message: its JSON, cut at `max` characters. A value nested too deeply for
 * JSON.stringify (which would throw, a 500 instead of the 400 being written) is named, not shown.
 */
export function shown(value: unknown, max = 200): string {
  let text: string | undefined;
  try {
    text = depthOf(value, MAX_INPUT_DEPTH) > MAX_INPUT_DEPTH ? undefined : JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return typeof value === 'object' && value !== null ? '(a value nested too deeply to show)' : String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * How deeply a value nests arrays and objects (0 for a scalar), counted without recursion and only up to `limit` + 1:
 * enough to refuse a body before any recursive walk (validation, JSON.stringify) overflows the stack on it.
 */
export function depthOf(value: unknown, limit = MAX_INPUT_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Object.values(v as object)) if (typeof child === 'object' && child !== null) stack.push([child, level]);
  }
  return deepest;
}
