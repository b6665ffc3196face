import { AsyncLocalStorage } from 'node:async_hooks';

const suppressed = new AsyncLocalStorage<true>();

/**
 * Runs `fn` with webhooks off: entity changes and `emit()` calls made inside it (and in everything it awaits)
 * record no events. For bulk imports, fixtures and migrations.
 *
 * ```ts
 * await runWithoutWebhooks(() => repository.save(rows));
 * ```
 */
export function runWithoutWebhooks<T>(fn: () => T): T {
  return suppressed.run(true, fn);
}

/** Whether the current async context is inside `runWithoutWebhooks()`. */
export function webhooksSuppressed(): boolean {
  return suppressed.getStore() === true;
}
