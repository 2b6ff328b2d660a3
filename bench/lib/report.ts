/** Benchmark figures, each next to the baseline measured in the same run, as a table and JSON. */

export interface Figure {
  value: number;
  unit: string;
}

export interface Row {
  /** Scenario number and letter: "1", "2a". */
  id: string;
  what: string;
  result: Figure;
  baseline?: { what: string } & Figure;
  /** result / baseline. */
  ratio?: number;
  /** The target in words, and whether it was met (undefined: no target). */
  target?: string;
  met?: boolean;
  notes?: string;
}

export function ratio(result: number, baseline: number): number {
  return baseline === 0 ? Number.NaN : result / baseline;
}

export function formatFigure({ value, unit }: Figure): string {
  if (!Number.isFinite(value)) return `– ${unit}`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}

export function formatRatio(value: number | undefined): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return '–';
  return value >= 10 ? `${value.toFixed(1)}×` : `${value.toFixed(2)}×`;
}

const COLUMNS = ['#', 'measure', 'result', 'baseline (same run)', 'baseline', 'ratio', 'target', 'met'] as const;

function cells(row: Row): string[] {
  return [
    row.id,
    row.what,
    formatFigure(row.result),
    row.baseline?.what ?? '',
    row.baseline ? formatFigure(row.baseline) : '',
    formatRatio(row.ratio),
    row.target ?? '',
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
  ];
}

/** A plain-text table for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(COLUMNS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown, for the README. */
export function markdownTable(rows: readonly Row[]): string {
  const escape = (s: string) => s.replaceAll('|', '\\|');
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map((_, i) => (i === 2 || i === 4 || i === 5 ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(escape).join(' | ')} |`),
  ].join('\n');
}
