import React, { useEffect, useState } from 'react';
import { Box, H2, H5, Loader, MessageBox, Table, TableBody, TableCell, TableHead, TableRow, Text } from '@adminjs/design-system';
import { ApiClient, ViewHelpers } from 'adminjs';
import { STATE_COLOURS, StateBadge, formatDate } from './badges';

const api = new ApiClient();
const h = new ViewHelpers();
const STATES = ['healthy', 'warning', 'critical', 'untested', 'disabled'];
const REFRESH_MS = 15000;

/** A duration for a person: 12 ms, 3.4 s, 5 min; a dash without one. */
const ms = (value: number | null) =>
  value === null
    ? '–'
    : value < 1000
      ? `${Math.round(value)} ms`
      : value < 60_000
        ? `${(value / 1000).toFixed(1)} s`
        : `${Math.round(value / 60_000)} min`;

const Card = ({ title, children, testId }: { title: string; children: any; testId?: string }) => (
  <Box
    variant="card"
    p="xl"
    mb="xl"
    data-testid={testId}
    style={{ background: '#fff', borderRadius: 8, boxShadow: '0 1px 3px rgba(0,0,0,.08)' }}
  >
    <H5 mb="lg">{title}</H5>
    {children}
  </Box>
);

const Count = ({ label, value, colour, href }: { label: string; value: number | string; colour?: string; href?: string }) => (
  <a href={href} style={{ textDecoration: 'none', color: 'inherit' }} data-testid={`count-${label}`}>
    <Box p="lg" style={{ minWidth: 120, borderLeft: `4px solid ${colour ?? '#6b7280'}`, background: '#fafafa', borderRadius: 4 }}>
      <div style={{ fontSize: 28, fontWeight: 700 }}>{value}</div>
      <div style={{ fontSize: 12, textTransform: 'uppercase', letterSpacing: 0.5 }}>{label}</div>
    </Box>
  </a>
);

/** Stacked bars: succeeded (green) under failed (red), one per minute. */
const Chart = ({ series }: { series: { minute: string; succeeded: number; failed: number }[] }) => {
  const width = 720;
  const height = 180;
  const pad = 28;
  const max = Math.max(1, ...series.map((s) => s.succeeded + s.failed));
  const bar = (width - pad) / series.length;
  const y = (v: number) => ((height - 20) * v) / max;
  const total = series.reduce((a, s) => ({ ok: a.ok + s.succeeded, bad: a.bad + s.failed }), { ok: 0, bad: 0 });
  return (
    <div>
      <svg
        viewBox={`0 0 ${width} ${height + 20}`}
        width="100%"
        role="img"
        aria-label="Delivery attempts per minute"
        data-testid="attempts-chart"
      >
        <text x={0} y={12} fontSize={10} fill="#6b7280">
          {max}
        </text>
        <line x1={pad} y1={height} x2={width} y2={height} stroke="#d1d5db" />
        {series.map((s, i) => {
          const x = pad + i * bar;
          const ok = y(s.succeeded);
          const bad = y(s.failed);
          return (
            <g key={s.minute}>
              <title>{`${new Date(s.minute).toLocaleTimeString()}: ${s.succeeded} succeeded, ${s.failed} failed`}</title>
              <rect x={x + 1} y={height - ok} width={Math.max(1, bar - 2)} height={ok} fill={STATE_COLOURS.succeeded} />
              <rect x={x + 1} y={height - ok - bad} width={Math.max(1, bar - 2)} height={bad} fill={STATE_COLOURS.failed} />
            </g>
          );
        })}
        {series.length ? (
          <>
            <text x={pad} y={height + 14} fontSize={10} fill="#6b7280">
              {new Date(series[0].minute).toLocaleTimeString()}
            </text>
            <text x={width} y={height + 14} fontSize={10} fill="#6b7280" textAnchor="end">
              {new Date(series[series.length - 1].minute).toLocaleTimeString()}
            </text>
          </>
        ) : null}
      </svg>
      <Text mt="md">
        <span style={{ color: STATE_COLOURS.succeeded }}>■</span> succeeded {total.ok} &nbsp;{' '}
        <span style={{ color: STATE_COLOURS.failed }}>■</span> failed {total.bad}
      </Text>
    </div>
  );
};

const Dashboard = () => {
  const [data, setData] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      api
        .getDashboard()
        .then((response: any) => live && (setData(response.data), setError(null)))
        .catch((e: Error) => live && setError(e.message));
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (error && !data) return <MessageBox m="xl" variant="danger" message={`The dashboard could not load: ${error}`} />;
  if (!data) return <Loader />;
  const endpointsUrl = h.resourceUrl({ resourceId: 'WebhookEndpoint' });
  const stateUrl = (state: string) => `${endpointsUrl}?filters.health=${state}`;
  return (
    <Box p="xxl" data-testid="webhooks-dashboard">
      <H2 mb="xl">Webhooks</H2>
      <Card title={`Endpoints (${data.endpoints.total})`} testId="health-counts">
        <Box flex style={{ gap: 16, flexWrap: 'wrap' }}>
          {STATES.map((s) => (
            <Count key={s} label={s} value={data.endpoints[s]} colour={STATE_COLOURS[s]} href={stateUrl(s)} />
          ))}
        </Box>
      </Card>
      <Card title="Delivery attempts per minute, last hour" testId="attempts-per-minute">
        <Box flex style={{ gap: 24, flexWrap: 'wrap', alignItems: 'flex-start' }}>
          <Box style={{ flex: '1 1 560px', minWidth: 320 }}>
            <Chart series={data.attemptsPerMinute} />
          </Box>
          <Box flex style={{ gap: 12, flexDirection: 'column' }} data-testid="last-hour">
            <Count label="p50 commit to delivered" value={ms(data.lastHour.p50Ms)} colour="#2e7d32" />
            <Count label="p95 commit to delivered" value={ms(data.lastHour.p95Ms)} colour="#b35c00" />
            <Count
              label="failed attempts"
              value={data.lastHour.errorRate === null ? '–' : `${(data.lastHour.errorRate * 100).toFixed(1)} %`}
              colour="#c62828"
            />
          </Box>
        </Box>
      </Card>
      <Card title="Backlog" testId="backlog">
        <Box flex style={{ gap: 16, flexWrap: 'wrap' }}>
          {data.queue ? (
            <>
              <Count label="waiting" value={data.queue.waiting} colour="#1565c0" />
              <Count label="active" value={data.queue.active} colour="#b35c00" />
              <Count label="delayed" value={data.queue.delayed} colour="#6b7280" />
              <Count label="failed jobs" value={data.queue.failed} colour="#c62828" />
            </>
          ) : (
            <MessageBox variant="danger" message={data.queueError ?? 'The queue is unavailable.'} />
          )}
          <Count label="pending deliveries" value={data.outbox.pending} colour="#1565c0" />
          <Count label="in flight" value={data.outbox.delivering} colour="#b35c00" />
        </Box>
      </Card>
      <Card title={`Failing endpoints (${data.failingTotal})`} testId="failing-endpoints">
        {data.failing.length === 0 ? (
          <Text>No endpoint is failing.</Text>
        ) : (
          <Table>
            <TableHead>
              <TableRow>
                <TableCell>Health</TableCell>
                <TableCell>URL</TableCell>
                <TableCell>Owner</TableCell>
                <TableCell>Failures in a row</TableCell>
                <TableCell>Failing since</TableCell>
                <TableCell>Last error</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {data.failing.map((e: any) => (
                <TableRow key={e.id}>
                  <TableCell>
                    <StateBadge state={e.state} />
                  </TableCell>
                  <TableCell>
                    <a href={h.recordActionUrl({ resourceId: 'WebhookEndpoint', recordId: e.id, actionName: 'show' })}>{e.url}</a>
                  </TableCell>
                  <TableCell data-testid="failing-owner">
                    {e.ownerId === null ? (
                      '—'
                    ) : (
                      <a href={`${endpointsUrl}?filters.ownerId=${encodeURIComponent(e.ownerId)}`}>{e.ownerId}</a>
                    )}
                  </TableCell>
                  <TableCell>{e.consecutiveFailures}</TableCell>
                  <TableCell>{formatDate(e.failingSince)}</TableCell>
                  <TableCell style={{ maxWidth: 360 }}>
                    {e.lastResponseStatus ? `HTTP ${e.lastResponseStatus}: ` : ''}
                    {e.lastError ?? '—'}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Card>
      <Text style={{ color: '#6b7280' }}>
        Read {formatDate(data.at)}; refreshes every {REFRESH_MS / 1000} s.
      </Text>
    </Box>
  );
};

export default Dashboard;
