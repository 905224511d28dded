/** One line of the results table: what was measured, on which engine, and how it compares. */
export interface Row {
  measure: string;
  engine: string;
  value: string;
  target: string;
  verdict: string;
}

export type Comparison = { below: number } | { above: number };

/** A row for a measured number; the verdict says whether `target` was met (none: "—"). */
export function row(measure: string, engine: string, value: number, unit: string, target?: Comparison, digits = 0): Row {
  const shown = `${fmt(value, digits)} ${unit}`;
  if (!target) return { measure, engine, value: shown, target: '—', verdict: '—' };
  const pass = 'below' in target ? value < target.below : value > target.above;
  const wanted = 'below' in target ? `< ${fmt(target.below)} ${unit}` : `> ${fmt(target.above)} ${unit}`;
  return { measure, engine, value: shown, target: wanted, verdict: pass ? 'pass' : 'MISS' };
}

/** A row without a figure: skipped, or failed with the reason. */
export function note(measure: string, engine: string, value: string, verdict: string, target = '—'): Row {
  return { measure, engine, value, target, verdict };
}

export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The value at percentile `p` (0–100) of ascending `sorted`: nearest rank, NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function markdownTable(rows: readonly Row[]): string {
  const header = ['measure', 'engine', 'value', 'target', 'verdict'];
  const cells = rows.map((r) => [r.measure, r.engine, r.value, r.target, r.verdict].map((c) => c.replace(/\|/g, '\\|')));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Progress goes to stderr, so stdout holds only the table. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
