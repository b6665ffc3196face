/**
 * What a command prints: a human-readable text (tables, lines) by default, or with `--json` one JSON document on
 * stdout, for scripts. Logs and errors go to stderr, so stdout holds only the answer.
 */
export class CliOutput {
  constructor(
    readonly json: boolean,
    private readonly write: (text: string) => void = (text) => void process.stdout.write(text),
  ) {}

  /** Prints `value` as JSON, or the text `human()` renders. */
  result(value: unknown, human: () => string): void {
    this.write(this.json ? `${JSON.stringify(value, null, 2)}\n` : `${human().replace(/\n*$/, '')}\n`);
  }
}

/** Columns of a table: a header and each row's cell (already formatted). */
export type Column<T> = [header: string, cell: (row: T) => string];

/**
 * A plain-text table: headers in capitals, columns padded and two spaces apart, the last one unpadded. `empty` is
 * printed instead when there is no row.
 */
export function table<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>, empty = '(none)'): string {
  if (rows.length === 0) return empty;
  const cells = [columns.map(([header]) => header.toUpperCase()), ...rows.map((row) => columns.map(([, cell]) => oneLine(cell(row))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Label/value lines: `label` padded to the longest label. */
export function fields(entries: ReadonlyArray<[label: string, value: string]>): string {
  const width = Math.max(...entries.map(([label]) => label.length));
  return entries.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value}`).join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** A cut to `max` characters with an ellipsis. */
export function clip(text: string | null | undefined, max = 60): string {
  if (text === null || text === undefined || text === '') return '-';
  const line = oneLine(text);
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** `2026-11-24T10:00:00Z` (seconds, UTC), or `-`. */
export function time(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `850 ms`, `1.25 s`, or `-`. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** A ratio as `97.5%`, or `-`. */
export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const p = Math.round(value * 1000) / 10;
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

/** `1,204`. */
export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** `1 delivery`, `3 deliveries`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}
