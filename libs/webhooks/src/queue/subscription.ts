import type { Redis } from 'ioredis';

/**
 * Subscribes to `channel` on a connection of its own, which reconnects on its own. `listener` gets each message,
 * and null once the subscription is back after its connection dropped: what was published meanwhile was missed.
 * Subscribed again by hand on each new connection, so the gap is reported once Redis has confirmed the
 * subscription: a message published after that is heard, one published before is in what the listener reads then.
 * Answers a function that ends the subscription.
 */
export function subscribeWithGaps(client: Redis, channel: string, listener: (message: string | null) => void): () => Promise<void> {
  const subscriber = client.duplicate({ autoResubscribe: false });
  let connections = 0;
  subscriber.on('error', () => undefined); // reconnects on its own
  subscriber.on('message', (_channel: string, message: string) => listener(message));
  subscriber.on('ready', () => {
    if (connections++ === 0) return;
    subscriber.subscribe(channel).then(
      () => listener(null),
      () => undefined, // dropped again: the next connection reports the gap
    );
  });
  subscriber.subscribe(channel).catch(() => undefined);
  return async () => {
    await subscriber.quit().catch(() => subscriber.disconnect());
  };
}
