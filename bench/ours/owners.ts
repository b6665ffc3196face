/**
 * The owners scenario's side of ours' API process: its owned endpoints, written in bulk, and the routing call timed
 * in place against the endpoint cache the process has loaded.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { generateSecret, WebhookEndpoint, WebhookSecret } from '../../libs/webhooks/src/index.js';
import { EndpointCache } from '../../libs/webhooks/src/endpoints/endpoint-cache.js';
import { ENDPOINT_FIELD_NAMES, ENDPOINT_FIELDS, type EndpointFieldSpec } from '../../libs/webhooks/src/endpoints/endpoint-input.js';
import { EndpointSecrets } from '../../libs/webhooks/src/endpoints/endpoint-secrets.js';
import { newId } from '../../libs/webhooks/src/ids.js';
import { topicMatches } from '../../libs/webhooks/src/topics/topics.js';
import { ownedEndpoints, ownerName, ownerOf, type OwnersSetup } from '../lib/config.js';

const TOPIC = 'order.created';
/** Rows per INSERT: about 20 parameters each, well under every driver's limit. */
const CHUNK = 500;

/**
 * Creates every owner's endpoints, then reloads the cache (and tells other instances). One endpoint at a time
 * through `createEndpoint` reloads the whole cache after each, so 15,000 of them would take hours: the rows are
 * built as `EndpointsService.create` builds them (each field's default), their secrets sealed by the library's own
 * `EndpointSecrets.insert` (collected instead of inserted one by one), and written in one transaction.
 */
export async function createOwnedEndpoints(app: INestApplicationContext, setup: OwnersSetup): Promise<{ endpoints: number; ms: number }> {
  const started = performance.now();
  const secrets = app.get(EndpointSecrets);
  const endpointRows: Array<QueryDeepPartialEntity<WebhookEndpoint>> = [];
  const secretRows: Array<QueryDeepPartialEntity<WebhookSecret>> = [];
  const collect = { insert: (_target: unknown, row: QueryDeepPartialEntity<WebhookSecret>) => Promise.resolve(void secretRows.push(row)) };
  const now = new Date();
  for (let k = 0; k < setup.count; k++) {
    for (let j = 0; j < ownedEndpoints(k); j++) {
      const id = newId('ep');
      const given: Record<string, unknown> = { url: `${setup.url}?owner=${ownerName(k)}`, topics: [TOPIC], ownerId: ownerName(k) };
      const row: Record<string, unknown> = { id, disabledAt: null, disabledReason: null };
      for (const name of ENDPOINT_FIELD_NAMES) {
        const spec: EndpointFieldSpec<unknown> = ENDPOINT_FIELDS[name];
        const value = given[name] ?? spec.default;
        row[name] = spec.sealed ? secrets.seal(id, name as 'headers' | 'auth', value as object | null) : value;
      }
      endpointRows.push(row as QueryDeepPartialEntity<WebhookEndpoint>);
      await secrets.insert(collect as unknown as EntityManager, id, generateSecret(), now);
    }
  }
  await app.get(DataSource).transaction(async (manager) => {
    for (let i = 0; i < endpointRows.length; i += CHUNK) await manager.insert(WebhookEndpoint, endpointRows.slice(i, i + CHUNK));
    for (let i = 0; i < secretRows.length; i += CHUNK) await manager.insert(WebhookSecret, secretRows.slice(i, i + CHUNK));
  });
  await app.get(EndpointCache).changed();
  return { endpoints: endpointRows.length, ms: performance.now() - started };
}

export interface RoutingTiming {
  /** Endpoints in the cache, active or not. */
  endpoints: number;
  /** `EndpointCache.matching(topic, owner)` per event: the median of 5 passes over `events` random owners. */
  nsPerEvent: number;
  /** Endpoints it answered per event (the ownerless ones plus 1.5 owned on average). */
  routedPerEvent: number;
  /** For scale: the same answer from a scan of every endpoint (over the first 100 events). */
  scanNsPerEvent: number;
  /** The scan and the cache agree on every event of the scan. */
  agrees: boolean;
}

/** Times the routing call alone, in this process, against the endpoints it has loaded (call while idle). */
export function timeRouting(app: INestApplicationContext, setup: OwnersSetup, events: number): RoutingTiming {
  const cache = app.get(EndpointCache);
  const owners = Array.from({ length: events }, (_, i) => ownerName(ownerOf(i, setup.count)));
  let routed = 0;
  const pass = () => {
    routed = 0;
    const t = performance.now();
    for (const owner of owners) routed += cache.matching(TOPIC, owner).length;
    return performance.now() - t;
  };
  pass(); // warm-up: JIT, and the ownerless list the cache builds on first use
  const passes = Array.from({ length: 5 }, pass).sort((a, b) => a - b);
  const all = cache.all();
  const sample = owners.slice(0, 100);
  const t = performance.now();
  const receives = (e: (typeof all)[number], owner: string) =>
    e.active && (e.ownerId === null || e.ownerId === owner) && e.topics.some((p) => topicMatches(p, TOPIC));
  const scanned = sample.map((owner) => all.filter((e) => receives(e, owner)).length);
  const scanMs = performance.now() - t;
  const agrees = sample.every((owner, i) => cache.matching(TOPIC, owner).length === scanned[i]);
  return {
    endpoints: all.length,
    nsPerEvent: (passes[2] * 1e6) / events,
    routedPerEvent: routed / events,
    scanNsPerEvent: (scanMs * 1e6) / sample.length,
    agrees,
  };
}

/** One reload of the endpoint cache (what every process does every `endpointCacheRefreshMs`): wall and CPU ms. */
export async function timeReload(app: INestApplicationContext): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await app.get(EndpointCache).reload();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Counts the endpoint cache's loads from now on (the periodic reload, reloads on change and on a miss): each loads
 * every endpoint, so with thousands of them a load inside a measured interval shows in its CPU.
 */
export function countCacheLoads(app: INestApplicationContext): () => number {
  const cache = app.get(EndpointCache);
  const reload = cache.reload.bind(cache);
  let loads = 0;
  cache.reload = () => {
    loads++;
    return reload();
  };
  return () => loads;
}
