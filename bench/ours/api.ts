// Ours' API process: saves orders; the library writes the outbox rows and enqueues after commit (worker: false).
import type { INestApplicationContext } from '@nestjs/common';
import type { Queue } from 'bull';
import { DataSource, type Repository } from 'typeorm';
import { WebhooksService } from '../../libs/webhooks/src/index.js';
import { newOrder, readConfig, runSavers, type SaveRun } from '../lib/config.js';
import { serve } from '../lib/ipc.js';
import { BenchOrder, createOursApp, oursQueue } from './app.js';

const config = readConfig();
let app: INestApplicationContext;
let orders: Repository<BenchOrder>;
let queue: Queue;

serve(
  {
    save: (run: SaveRun) => runSavers((i) => orders.save(orders.create(newOrder(i))), run),
    // Global pause: jobs wait in Redis while no worker may take them (the drain scenario's backlog).
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    stop: () => app.close(),
  },
  async () => {
    app = await createOursApp(config, false);
    const webhooks = app.get(WebhooksService);
    for (const url of config.urls) await webhooks.createEndpoint({ url, topics: ['order.created'] });
    orders = app.get(DataSource).getRepository(BenchOrder);
    queue = oursQueue(app);
  },
);
