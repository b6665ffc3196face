import React from 'react';
import { Box, Label } from '@adminjs/design-system';
import { useTranslation } from 'adminjs';

/** Colours by state: the same palette for endpoint health and delivery status. */
export const STATE_COLOURS: Record<string, string> = {
  healthy: '#1b7f3b',
  succeeded: '#1b7f3b',
  warning: '#b35c00',
  delivering: '#b35c00',
  critical: '#c62828',
  failed: '#c62828',
  pending: '#1565c0',
  untested: '#6b7280',
  disabled: '#374151',
};

const SYMBOLS: Record<string, string> = {
  healthy: '●',
  succeeded: '✔',
  warning: '▲',
  delivering: '…',
  critical: '✖',
  failed: '✖',
  pending: '◷',
  untested: '○',
  disabled: '■',
};

export const StateBadge = ({ state }: { state: string }) => (
  <span
    data-testid={`state-${state}`}
    title={state}
    style={{
      display: 'inline-flex',
      alignItems: 'center',
      gap: 6,
      padding: '2px 10px',
      borderRadius: 12,
      fontSize: 12,
      fontWeight: 600,
      color: '#fff',
      background: STATE_COLOURS[state] ?? '#6b7280',
      whiteSpace: 'nowrap',
    }}
  >
    <span aria-hidden="true">{SYMBOLS[state] ?? '●'}</span>
    {state}
  </span>
);

/** Pretty-prints JSON text (or any value); other text is shown as it is. */
export function pretty(value: unknown): string {
  if (value === null || value === undefined || value === '') return '';
  if (typeof value !== 'string') return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

export const Code = ({ text, limit = 20000, testId }: { text: string; limit?: number; testId?: string }) => (
  <pre
    data-testid={testId}
    style={{
      background: '#f6f8fa',
      border: '1px solid #e1e4e8',
      borderRadius: 4,
      padding: 12,
      fontSize: 12,
      lineHeight: 1.45,
      maxHeight: 480,
      overflow: 'auto',
      whiteSpace: 'pre-wrap',
      wordBreak: 'break-word',
      margin: 0,
    }}
  >
    {text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)` : text}
  </pre>
);

export function formatDate(value: unknown): string {
  if (!value) return '—';
  const d = new Date(String(value));
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

/** A property's value as it is in lists; on the record page, under its label like AdminJS's own fields. */
/**
 * A property's label as the admin's translations give it (`property.label` is the raw name, e.g. "topics"); custom
 * components show this one, so their labels read like the built-in ones'.
 */
export function usePropertyLabel(property: any): string {
  const { translateProperty } = useTranslation();
  return translateProperty(property.label ?? property.path, property.resourceId);
}

export const ShowField = ({ where, property, children }: { where: string; property: any; children: any }) => {
  const label = usePropertyLabel(property);
  return where === 'show' ? (
    <Box mb="xl">
      <Label variant="light">{label}</Label>
      {children}
    </Box>
  ) : (
    children
  );
};

/** A record param that holds JSON text (lists the admin attaches to a record); a fallback when absent or broken. */
export function jsonParam<T>(record: any, path: string, fallback: T): T {
  try {
    return JSON.parse(record?.params?.[path] ?? 'null') ?? fallback;
  } catch {
    return fallback;
  }
}
