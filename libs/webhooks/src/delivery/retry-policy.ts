/** 2xx, and only 2xx, is a successful delivery (Standard Webhooks). */
export function isSuccess(status: number | null): boolean {
  return status !== null && status >= 200 && status < 300;
}

/**
 * Delay before the retry that follows attempt `attempt` (1-based), or null when the schedule is used up.
 * The scheduled delay is spread uniformly over ±`jitter` so retries of many deliveries do not arrive together.
 */
export function retryDelay(
  attempt: number,
  schedule: readonly number[],
  jitter: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attempt - 1];
  if (base === undefined) return null;
  const spread = base * jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
