import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { Between, DataSource, IsNull, MoreThanOrEqual, Not, type FindOptionsWhere } from 'typeorm';
import { EndpointCache } from '../endpoints/endpoint-cache.js';
import { HealthWrites } from './health-writes.js';
import { WebhookDelivery, WebhookEndpoint } from '../entities/index.js';
import { columnSql } from '../store/sql-names.js';
import { WEBHOOKS_OPTIONS } from '../webhooks.constants.js';
import type { DeliveryFailedEvent, ResolvedWebhooksOptions } from '../webhooks.options.js';

/** Event names on `@nestjs/event-emitter`. */
export const WEBHOOK_EVENTS = {
  endpointDisabled: 'webhooks.endpoint.disabled',
  deliveryFailed: 'webhooks.delivery.failed',
} as const;

/** Topic of test sends (kept out of success rates). */
export const TEST_TOPIC = 'webhook.test';

/** A success is written at most this often per endpoint and process (a failure in between always resets it). */
const SUCCESS_WRITE_INTERVAL_MS = 1000;

/** An endpoint's health states, from the admin's filter order: healthy first. */
export const HEALTH_STATES = ['healthy', 'warning', 'critical', 'untested', 'disabled'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** Failures in a row from which an endpoint's health is `critical` (fewer: `warning`). */
export const CRITICAL_AFTER_FAILURES = 5;

/** The health state of an endpoint row: disabled, untested, healthy, warning (1-4 failures in a row), critical (5+). */
export function healthState(e: Pick<WebhookEndpoint, 'active' | 'consecutiveFailures' | 'lastSuccessAt' | 'lastFailureAt'>): HealthState {
  if (!e.active) return 'disabled';
  if (!e.lastSuccessAt && !e.lastFailureAt) return 'untested';
  if (e.consecutiveFailures === 0) return 'healthy';
  return e.consecutiveFailures < CRITICAL_AFTER_FAILURES ? 'warning' : 'critical';
}

/** `healthState()` as an SQL expression over the endpoint table aliased `alias` (for counts by state). */
export function healthStateSql(dataSource: DataSource, alias: string): string {
  const metadata = dataSource.getMetadata(WebhookEndpoint);
  const c = (p: string) => `${alias}.${columnSql(dataSource, metadata, p)}`;
  return (
    `CASE WHEN NOT ${c('active')} THEN 'disabled' ` +
    `WHEN ${c('lastSuccessAt')} IS NULL AND ${c('lastFailureAt')} IS NULL THEN 'untested' ` +
    `WHEN ${c('consecutiveFailures')} = 0 THEN 'healthy' ` +
    `WHEN ${c('consecutiveFailures')} < ${CRITICAL_AFTER_FAILURES} THEN 'warning' ELSE 'critical' END`
  );
}

/**
 * `healthState() === state` as TypeORM find conditions (any of them matches), each merged with `base`. An unknown
 * state matches nothing.
 */
export function healthStateWhere(state: string, base: FindOptionsWhere<WebhookEndpoint> = {}): FindOptionsWhere<WebhookEndpoint>[] {
  const tested = (failures: FindOptionsWhere<WebhookEndpoint>['consecutiveFailures']) => [
    { ...base, active: true, consecutiveFailures: failures, lastSuccessAt: Not(IsNull()) },
    { ...base, active: true, consecutiveFailures: failures, lastFailureAt: Not(IsNull()) },
  ];
  switch (state) {
    case 'disabled':
      return [{ ...base, active: false }];
    case 'untested':
      return [{ ...base, active: true, lastSuccessAt: IsNull(), lastFailureAt: IsNull() }];
    case 'healthy':
      return tested(0);
    case 'warning':
      return tested(Between(1, CRITICAL_AFTER_FAILURES - 1));
    case 'critical':
      return tested(MoreThanOrEqual(CRITICAL_AFTER_FAILURES));
    default:
      return [{ ...base, id: IsNull() }];
  }
}

/**
 * Keeps each endpoint's health counters from delivery outcomes, disables endpoints that keep failing, and tells the
 * host (callback options and `@nestjs/event-emitter`, when the host has it). The counter writes of one endpoint
 * run in the order they were asked for; successes of many endpoints are written together (`HealthWrites`).
 */
@Injectable()
export class EndpointHealth implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly successWrittenAt = new Map<string, number>();
  private readonly writes: HealthWrites;
  private emitter?: { emit(name: string, event: unknown): unknown };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: EndpointCache,
    @Inject(WEBHOOKS_OPTIONS) private readonly options: ResolvedWebhooksOptions,
    private readonly moduleRef: ModuleRef,
  ) {
    this.writes = new HealthWrites(dataSource);
  }

  /** `@nestjs/event-emitter` is an optional peer: used when the host has it installed and registered. */
  async onModuleInit(): Promise<void> {
    const events = await import('@nestjs/event-emitter').catch(() => undefined);
    if (!events) return;
    try {
      this.emitter = this.moduleRef.get(events.EventEmitter2, { strict: false });
    } catch {
      // Installed but EventEmitterModule not imported by the host: callbacks only.
    }
  }

  /** Health writes still waiting finish before the connection closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.writes.settled();
  }

  /**
   * A delivery succeeded: the failure streak ends. Throttled, since it is the common case; written together with
   * other endpoints' successes.
   */
  async succeeded(endpointId: string, at: Date): Promise<void> {
    const last = this.successWrittenAt.get(endpointId);
    if (last !== undefined && at.getTime() - last < SUCCESS_WRITE_INTERVAL_MS) return;
    this.successWrittenAt.set(endpointId, at.getTime());
    await this.writes.success(endpointId, at);
  }

  /** A delivery failed for good: count it, and disable the endpoint when a limit is reached. */
  async failed(endpointId: string, at: Date, failure: Omit<DeliveryFailedEvent, 'endpointId' | 'at'>): Promise<void> {
    this.successWrittenAt.delete(endpointId);
    const column = (p: string) => columnSql(this.dataSource, this.metadata(), p);
    // After any success of this endpoint still waiting to be written: it came first, so it must not reset this.
    await this.writes.inOrder(endpointId, () =>
      this.dataSource
        .createQueryBuilder()
        .update(WebhookEndpoint)
        .set({
          consecutiveFailures: () => `${column('consecutiveFailures')} + 1`,
          failingSince: () => `COALESCE(${column('failingSince')}, :at)`,
          lastFailureAt: at,
          updatedAt: () => column('updatedAt'),
        })
        .setParameter('at', at)
        .where({ id: endpointId })
        .callListeners(false)
        .updateEntity(false)
        .execute(),
    );
    await this.deliveryFailed({ ...failure, endpointId, at });

    const row = await this.dataSource
      .getRepository(WebhookEndpoint)
      .findOne({ where: { id: endpointId }, select: ['id', 'active', 'consecutiveFailures', 'failingSince'] });
    if (!row?.active) return;
    const { autoDisableAfterFailures: count, autoDisableAfterMs: duration } = this.options;
    const countReached = count > 0 && row.consecutiveFailures >= count;
    const timeReached = duration > 0 && !!row.failingSince && at.getTime() - row.failingSince.getTime() >= duration;
    if (!countReached && !timeReached) return;

    // The counters are cheap but approximate across processes (successes are written at most once a second per
    // process). Before disabling, count the streak from the delivery log itself.
    const streak = await this.failureStreak(endpointId);
    if (count > 0 && streak.failed >= count) {
      await this.disable(endpointId, `Disabled automatically: ${streak.failed} deliveries in a row failed (last: ${failure.reason}).`, at);
    } else if (duration > 0 && streak.since && at.getTime() - streak.since.getTime() >= duration) {
      await this.disable(
        endpointId,
        `Disabled automatically: every delivery failed for ${humanDuration(duration)} (last: ${failure.reason}).`,
        at,
      );
    } else {
      await this.update(endpointId, { consecutiveFailures: streak.failed, failingSince: streak.since });
    }
  }

  /** Failed deliveries since the endpoint's last successful one, and when the first of them finished. */
  private async failureStreak(endpointId: string): Promise<{ failed: number; since: Date | null }> {
    const deliveries = this.dataSource.getRepository(WebhookDelivery);
    const lastSuccess = await deliveries
      .createQueryBuilder('d')
      .select('MAX(d.updatedAt)', 'at')
      .where('d.endpointId = :endpointId AND d.status = :ok AND d.topic <> :test', { endpointId, ok: 'succeeded', test: TEST_TOPIC })
      .getRawOne<{ at: Date | string | null }>();
    const qb = deliveries
      .createQueryBuilder('d')
      .select('COUNT(*)', 'failed')
      .addSelect('MIN(d.updatedAt)', 'since')
      .where('d.endpointId = :endpointId AND d.status = :failed AND d.topic <> :test', { endpointId, failed: 'failed', test: TEST_TOPIC });
    if (lastSuccess?.at) qb.andWhere('d.updatedAt > :after', { after: toDate(lastSuccess.at) });
    const row = await qb.getRawOne<{ failed: string | number; since: Date | string | null }>();
    return { failed: Number(row?.failed ?? 0), since: row?.since ? toDate(row.since) : null };
  }

  /** Tells the host a delivery failed for good (without counting it: see `failed`). */
  deliveryFailed(event: DeliveryFailedEvent): Promise<void> {
    return this.notify(WEBHOOK_EVENTS.deliveryFailed, this.options.onDeliveryFailed, event);
  }

  /** Disables an active endpoint, records why, and tells the host. False when it was not active. */
  async disable(endpointId: string, reason: string, at = new Date()): Promise<boolean> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(WebhookEndpoint)
      .set({ active: false, disabledAt: at, disabledReason: reason.slice(0, 500) })
      .where({ id: endpointId, active: true })
      .callListeners(false)
      .updateEntity(false)
      .execute();
    if (result.affected !== 1) return false;
    await this.cache.changed();
    const url = this.cache.get(endpointId)?.url ?? '';
    this.logger.warn(`Webhook endpoint ${endpointId} (${url}) disabled: ${reason}`);
    await this.notify(WEBHOOK_EVENTS.endpointDisabled, this.options.onEndpointDisabled, { endpointId, url, reason, at });
    return true;
  }

  /** Whether endpoints unreachable for `autoDisableAfterMs` are disabled (0 turns it off). */
  get disablesUnreachable(): boolean {
    return this.options.autoDisableAfterMs > 0;
  }

  /**
   * Disables an endpoint whose circuit has been open since `openedAt` for `autoDisableAfterMs` or more: every
   * attempt since (its probes) found it unreachable. Its deliveries are held meanwhile, so few fail for good and the
   * count of `failed` would not come. False when the time is not reached, or it was not active.
   */
  async disableUnreachable(endpointId: string, openedAt: Date, at = new Date()): Promise<boolean> {
    const duration = this.options.autoDisableAfterMs;
    if (!this.disablesUnreachable || at.getTime() - openedAt.getTime() < duration) return false;
    return this.disable(
      endpointId,
      `Disabled automatically: unreachable for ${humanDuration(duration)} (its circuit opened at ${openedAt.toISOString()}).`,
      at,
    );
  }

  /** Enables an endpoint with a clean slate: health back to `untested`. */
  async enable(endpointId: string): Promise<boolean> {
    this.successWrittenAt.delete(endpointId);
    const result = await this.writes.inOrder(endpointId, () =>
      this.dataSource
        .createQueryBuilder()
        .update(WebhookEndpoint)
        .set({ active: true, disabledAt: null, disabledReason: null, ...CLEAN_HEALTH })
        .where({ id: endpointId })
        .callListeners(false)
        .updateEntity(false)
        .execute(),
    );
    await this.cache.changed();
    return result.affected === 1;
  }

  /**
   * Finished deliveries per endpoint over the last `healthWindowMs` (test sends on the default topic excluded), in
   * one grouped query.
   */
  async recentOutcomes(endpointIds?: string[]): Promise<Map<string, { succeeded: number; failed: number }>> {
    const qb = this.dataSource
      .getRepository(WebhookDelivery)
      .createQueryBuilder('d')
      .select('d.endpointId', 'endpointId')
      .addSelect(`SUM(CASE WHEN d.status = 'succeeded' THEN 1 ELSE 0 END)`, 'succeeded')
      .addSelect(`SUM(CASE WHEN d.status = 'failed' THEN 1 ELSE 0 END)`, 'failed')
      .where('d.status IN (:...final)', { final: ['succeeded', 'failed'] })
      .andWhere('d.updatedAt >= :since', { since: new Date(Date.now() - this.options.healthWindowMs) })
      .andWhere('d.topic <> :test', { test: TEST_TOPIC })
      .groupBy('d.endpointId');
    if (endpointIds) qb.andWhere('d.endpointId IN (:...ids)', { ids: endpointIds.length ? endpointIds : [''] });
    const rows = await qb.getRawMany<{ endpointId: string; succeeded: string | number; failed: string | number }>();
    return new Map(rows.map((r) => [r.endpointId, { succeeded: Number(r.succeeded), failed: Number(r.failed) }]));
  }

  /** Forgets the counters (health back to `untested`) without changing `active`. */
  async reset(endpointId: string): Promise<boolean> {
    this.successWrittenAt.delete(endpointId);
    return (await this.update(endpointId, CLEAN_HEALTH)) === 1;
  }

  /** Writes health counters of one endpoint, in order with its other health writes. */
  private async update(endpointId: string, values: Partial<WebhookEndpoint>): Promise<number> {
    const updatedAt = columnSql(this.dataSource, this.metadata(), 'updatedAt');
    const result = await this.writes.inOrder(endpointId, () =>
      this.dataSource
        .createQueryBuilder()
        .update(WebhookEndpoint)
        .set({ ...values, updatedAt: () => updatedAt }) // health is not an edit of the endpoint
        .where({ id: endpointId })
        .callListeners(false)
        .updateEntity(false)
        .execute(),
    );
    return result.affected ?? 0;
  }

  private metadata() {
    return this.dataSource.getMetadata(WebhookEndpoint);
  }

  private async notify<T>(name: string, callback: ((event: T) => void | Promise<void>) | undefined, event: T): Promise<void> {
    try {
      await callback?.(event);
      this.emitter?.emit(name, event);
    } catch (error) {
      this.logger.error(`A ${name} listener failed: ${(error as Error).message}`);
    }
  }
}

const CLEAN_HEALTH = {
  consecutiveFailures: 0,
  failingSince: null,
  lastSuccessAt: null,
  lastFailureAt: null,
} satisfies Partial<WebhookEndpoint>;

/** 432000000 -> "5 days", 5400000 -> "1.5 hours", 200 -> "0.2 seconds". */
function humanDuration(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  const [size, name] = units.find(([size]) => ms >= size) ?? units[units.length - 1];
  const value = Math.round((ms / size) * 10) / 10;
  return `${value} ${name}${value === 1 ? '' : 's'}`;
}

/** Raw aggregate dates come back as Date (PostgreSQL, MySQL) or as 'YYYY-MM-DD HH:MM:SS.SSS' UTC text (SQLite). */
function toDate(value: Date | string): Date {
  if (value instanceof Date) return value;
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : value.replace(' ', 'T') + 'Z');
}
