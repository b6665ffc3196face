// Ours' API process: saves orders; the library writes the outbox rows and enqueues after commit (worker: false).
import type { INestApplicationContext } from '@nestjs/common';
import type { Queue } from 'bull';
import { DataSource, type Repository } from 'typeorm';
import { WebhooksService } from '../../libs/webhooks/src/index.js';
import { newOrder, ownedEndpoints, ownerName, ownerOf, readConfig, runSavers, type SaveResult, type SaveRun } from '../lib/config.js';
import { serve } from '../lib/ipc.js';
import { BenchOrder, BenchOwnedOrder, createOursApp, oursQueue } from './app.js';
import { countCacheLoads, createOwnedEndpoints, timeReload, timeRouting } from './owners.js';

const config = readConfig();
let app: INestApplicationContext;
let orders: Repository<BenchOrder>;
let owned: Repository<BenchOwnedOrder>;
let queue: Queue;
let cacheLoads: (() => number) | undefined;

/** The owners scenario: each order gets a random owner (see `ownerOf`); counts what the owners' endpoints are owed. */
async function saveOwned(run: SaveRun): Promise<SaveResult> {
  const count = config.owners!.count;
  let deliveries = 0;
  const result = await runSavers(async (i) => {
    const k = ownerOf(i, count);
    await owned.save(owned.create({ ...newOrder(i), ownerId: ownerName(k) }));
    deliveries += ownedEndpoints(k);
  }, run);
  return { ...result, owned: deliveries };
}

serve(
  {
    save: (run: SaveRun) => (config.owners ? saveOwned(run) : runSavers((i) => orders.save(orders.create(newOrder(i))), run)),
    // Global pause: jobs wait in Redis while no worker may take them (the drain scenario's backlog).
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    route: ({ events }: { events: number }) => timeRouting(app, config.owners!, events),
    reload: () => timeReload(app),
    stop: () => app.close(),
  },
  async () => {
    app = await createOursApp(config, false);
    const webhooks = app.get(WebhooksService);
    // Ownerless endpoints (the only ones, outside the owners scenario).
    for (const url of config.urls) await webhooks.createEndpoint({ url, topics: ['order.created'] });
    queue = oursQueue(app);
    if (!config.owners) {
      orders = app.get(DataSource).getRepository(BenchOrder);
      return undefined;
    }
    const setup = await createOwnedEndpoints(app, config.owners);
    cacheLoads = countCacheLoads(app);
    owned = app.get(DataSource).getRepository(BenchOwnedOrder);
    return { ownedEndpoints: setup.endpoints, setupMs: setup.ms };
  },
  () => (cacheLoads ? { cacheLoads: cacheLoads() } : {}),
);
