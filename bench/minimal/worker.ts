/**
 * The minimal pipeline's worker process: a Bull processor (concurrency 50 unless told otherwise) that signs the
 * payload (Standard Webhooks headers), POSTs it with axios over a keep-alive agent (axios defaults otherwise) and
 * inserts an attempt row. A failure is logged as an attempt and not retried.
 */
import 'reflect-metadata';
import axios from 'axios';
import Bull from 'bull';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { connectionOptions, readConfig } from '../lib/config.js';
import { serve } from '../lib/ipc.js';
import { AttemptRow, MINIMAL_QUEUE, MinimalOrder, OutboxRow, type MinimalJob } from './entities.js';

const config = readConfig();
const dataSource = new DataSource({
  ...connectionOptions(config.db, config.name),
  entities: [MinimalOrder, OutboxRow, AttemptRow],
});
const queue = new Bull<MinimalJob>(MINIMAL_QUEUE, { redis: config.redisUrl, prefix: config.prefix });
const agent = new http.Agent({ keepAlive: true });
const key = Buffer.from(config.secret.replace(/^whsec_/, ''), 'base64');
let completed = 0;
let failed = 0;

async function deliver({ outboxId, payload, url }: MinimalJob): Promise<void> {
  const messageId = `msg_${outboxId}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', key).update(`${messageId}.${timestamp}.${payload}`).digest('base64');
  const started = performance.now();
  let status: number | null;
  try {
    const response = await axios.post(url, payload, {
      httpAgent: agent,
      headers: {
        'content-type': 'application/json',
        'webhook-id': messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signature}`,
      },
    });
    status = response.status;
  } catch (error) {
    status = axios.isAxiosError(error) ? (error.response?.status ?? null) : null;
  }
  const durationMs = Math.round(performance.now() - started);
  await dataSource.getRepository(AttemptRow).insert({ id: randomUUID(), outboxId, status, durationMs, createdAt: new Date() });
}

serve(
  {
    stop: async () => {
      await queue.close();
      await dataSource.destroy();
      agent.destroy();
    },
  },
  async () => {
    await dataSource.initialize();
    queue.on('completed', () => completed++);
    // The naive pipeline has no error handling: a job whose attempt row could not be written fails (and stays).
    queue.on('failed', (_job, error: Error) => {
      if (failed++ === 0) console.error(`${config.name}: a delivery job failed: ${error.message}`);
    });
    void queue.process(config.concurrency, (job) => deliver(job.data));
    await queue.isReady();
  },
  () => ({ completed, failed }),
);
