/**
 * `compute` remembered per key, for pure functions of a few repeating keys (endpoint URLs). The map starts over
 * when it holds `limit` keys, so a stream of distinct keys costs memory up to the limit, never more.
 */
export function memoized<V>(compute: (key: string) => V, limit = 1024): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    if (known.has(key)) return known.get(key) as V;
    const value = compute(key);
    if (known.size >= limit) known.clear();
    known.set(key, value);
    return value;
  };
}
