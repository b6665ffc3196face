import { Command } from 'nest-commander';
import { HEALTH_STATES } from '../endpoints/endpoint-health.js';
import type { EndpointView } from '../management/views.js';
import { EXIT_FAILURE } from './arguments.js';
import { WebhooksCommand } from './command.js';
import { clip, count, fields, ms, table, time, type CliOutput } from './output.js';

/** An endpoint whose deliveries the engine holds: an open or half-open circuit, or a `Retry-After` pause. */
export interface HeldEndpoint {
  id: string;
  url: string;
  circuit: string;
  /** Since when its circuit is open or half-open (auto-disable counts from it). */
  circuitOpenedAt: Date | null;
  circuitRetryAt: Date | null;
  pausedUntil: Date | null;
  consecutiveUnreachable: number;
  held: number;
  inFlight: number;
}

@Command({
  name: 'status',
  description:
    'endpoints by health state, open circuits, failing endpoints, the outbox and queue backlog, and the last hour (exit 1 when the queue does not answer)',
})
export class StatusCommand extends WebhooksCommand {
  protected async execute(_params: string[], _options: unknown, out: CliOutput): Promise<number> {
    const webhooks = this.cli.webhooks;
    const [overview, endpoints] = await Promise.all([webhooks.overview(), webhooks.listEndpoints()]);
    const held = endpoints.filter((e) => e.active && e.delivery && isHeld(e)).map(heldEndpoint);
    const lastHour = overview.attemptsPerMinute.reduce(
      (sum, m) => ({ succeeded: sum.succeeded + m.succeeded, failed: sum.failed + m.failed }),
      { succeeded: 0, failed: 0 },
    );
    const circuits = {
      open: held.filter((e) => e.circuit === 'open').length,
      halfOpen: held.filter((e) => e.circuit === 'half-open').length,
      paused: held.filter((e) => e.pausedUntil).length,
      unknown: endpoints.some((e) => e.active && e.delivery === null),
    };
    const { attemptsPerMinute: _series, ...rest } = overview;
    out.result({ ...rest, attemptsLastHour: lastHour, circuits, held }, () => {
      const e = overview.endpoints;
      const q = overview.queue;
      const lines = [
        fields([
          ['Endpoints', `${count(e.total)} in all: ${HEALTH_STATES.map((s) => `${count(e[s])} ${s}`).join(', ')}`],
          [
            'Circuits',
            circuits.unknown
              ? 'unknown (Redis did not answer)'
              : `${count(circuits.open)} open, ${count(circuits.halfOpen)} half-open, ${count(circuits.paused)} paused`,
          ],
          ['Outbox', `${count(overview.outbox.pending)} pending, ${count(overview.outbox.delivering)} delivering`],
          [
            'Queue',
            q
              ? `${count(q.waiting)} waiting, ${count(q.active)} active, ${count(q.delayed)} delayed, ${count(q.failed)} failed`
              : `unknown: ${overview.queueError}`,
          ],
          ['Last hour', `${count(lastHour.succeeded)} attempts succeeded, ${count(lastHour.failed)} failed`],
          [
            'Commit to delivered',
            overview.lastHour.samples
              ? `p50 ${ms(overview.lastHour.p50Ms)}, p95 ${ms(overview.lastHour.p95Ms)} (${count(overview.lastHour.samples)} deliveries in the last hour)`
              : 'no delivery succeeded in the last hour',
          ],
        ]),
      ];
      if (held.length) {
        lines.push(
          '',
          'Held endpoints (circuit or pause):',
          table(held, [
            ['id', (h) => h.id],
            ['circuit', (h) => h.circuit],
            ['open since', (h) => time(h.circuitOpenedAt)],
            ['probe at', (h) => time(h.circuitRetryAt)],
            ['paused until', (h) => time(h.pausedUntil)],
            ['unreachable', (h) => String(h.consecutiveUnreachable)],
            ['held', (h) => String(h.held)],
            ['url', (h) => h.url],
          ]),
        );
      }
      if (overview.failing.length) {
        lines.push(
          '',
          `Failing endpoints (${overview.failing.length} of ${overview.failingTotal}):`,
          table(overview.failing, [
            ['id', (f) => f.id],
            ['state', (f) => f.state],
            ['failures', (f) => String(f.consecutiveFailures)],
            ['failing since', (f) => time(f.failingSince)],
            ['last error', (f) => clip(f.lastError, 50)],
            ['url', (f) => f.url],
          ]),
        );
      }
      return lines.join('\n');
    });
    return overview.queue ? 0 : EXIT_FAILURE;
  }
}

function isHeld(e: EndpointView): boolean {
  const d = e.delivery!;
  return d.circuit !== 'closed' || d.pausedUntil !== null; // the view gives a pause only while it lasts
}

function heldEndpoint(e: EndpointView): HeldEndpoint {
  const d = e.delivery!;
  return {
    id: e.id,
    url: e.url,
    circuit: d.circuit,
    circuitOpenedAt: d.circuitOpenedAt,
    circuitRetryAt: d.circuitRetryAt,
    pausedUntil: d.pausedUntil,
    consecutiveUnreachable: d.consecutiveUnreachable,
    held: d.held,
    inFlight: d.inFlight,
  };
}
