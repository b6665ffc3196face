// Ours' worker process (worker: true): the library's Bull processor delivers; this only counts finished jobs.
import type { INestApplicationContext } from '@nestjs/common';
import type { Job } from 'bull';
import { DELIVER_JOB } from '../../libs/webhooks/src/webhooks.constants.js';
import { readConfig } from '../lib/config.js';
import { serve } from '../lib/ipc.js';
import { createOursApp, oursQueue } from './app.js';
import { countCacheLoads } from './owners.js';

const config = readConfig();
let app: INestApplicationContext;
let completed = 0;
let cacheLoads: (() => number) | undefined;

serve(
  { stop: () => app.close() },
  async () => {
    app = await createOursApp(config, true);
    if (config.owners) cacheLoads = countCacheLoads(app);
    // A job completes after its attempt row is written. The library's handler answers false for a job that made no
    // attempt (stale, held by the per-endpoint gate, or failed to run): those are not counted, nor is the retention
    // job that shares the queue.
    oursQueue(app).on('completed', (job: Job, result: unknown) => {
      if (job.name === DELIVER_JOB && result !== false) completed++;
    });
  },
  () => ({ completed, ...(cacheLoads ? { cacheLoads: cacheLoads() } : {}) }),
);
