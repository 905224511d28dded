import { evaluateExpression, expressionProblems, z, type Expression, type FieldProblem } from '../../kernel/index.js';
import { amount, basisPoints, currency, MAX_AMOUNT } from './money.js';

/**
 * A fee rule is data: lines by tax head (fixed, slab by a field's value, per unit, or a JSON Logic
 * expression), a rebate for paying early and a penalty for paying late. Each part compiles to one
 * JSON Logic expression, evaluated by the kernel's one evaluator; the compiled form is what
 * `GET /fee-rules/:service` hands to the browser, so the citizen sees the amount the server charges.
 */
export const taxHeadCode = z.string().regex(/^[A-Z][A-Z0-9_]{1,59}$/, 'must be upper case letters, digits and _ such as TL_FEE');
const fieldPath = z.string().regex(/^[A-Za-z_]\w{0,63}(\.[A-Za-z_]\w{0,63}){0,7}$/, 'must be a dotted field name such as trade.area');
const threshold = z.number().finite().min(0).max(1e12);

const fixedLine = z.object({ kind: z.literal('fixed'), taxHead: taxHeadCode, amount });
const slabLine = z.object({
  kind: z.literal('slab'),
  taxHead: taxHeadCode,
  field: fieldPath,
  slabs: z
    .array(z.object({ upTo: threshold.nullable().describe('inclusive upper bound of the field value; null: no bound (last slab only)'), amount }))
    .min(1)
    .max(50),
});
const perUnitLine = z.object({
  kind: z.literal('perUnit'),
  taxHead: taxHeadCode,
  field: fieldPath,
  rate: amount.describe('minor units per unit of the field; the product is rounded half up to the minor unit'),
  minimum: amount.optional(),
  maximum: amount.optional(),
});
const expressionLine = z.object({ kind: z.literal('expression'), taxHead: taxHeadCode, expression: z.unknown().describe('JSON Logic over the record; must give an integer of minor units') });
export const feeLine = z.discriminatedUnion('kind', [fixedLine, slabLine, perUnitLine, expressionLine]);

export const feeRuleBody = z.object({
  currency,
  lines: z.array(feeLine).min(1).max(20),
  rebate: z
    .object({ taxHead: taxHeadCode, basisPoints: basisPoints.min(1), daysBeforeDue: z.number().int().min(0).max(366).describe('whole days left before the due time') })
    .optional(),
  penalty: z
    .object({
      taxHead: taxHeadCode,
      graceDays: z.number().int().min(0).max(366).default(0),
      flat: amount.default(0),
      basisPointsPerMonth: basisPoints.default(0).describe('share of the base per started 30-day period after the due time'),
      maxBasisPoints: basisPoints.optional().describe('cap on the percentage part, as a share of the base'),
    })
    .optional(),
  billValidityHours: z.number().int().min(1).max(24 * 90).default(24),
  allowPartial: z.boolean().default(false),
  minimumPartial: amount.default(0).describe('smallest partial payment, when partial payments are allowed'),
});
export type FeeRule = z.output<typeof feeRuleBody>;
export type FeeLine = z.output<typeof feeLine>;

export interface CompiledRule {
  lines: Array<{ taxHead: string; expression: Expression }>;
  /** Over `{ base, late, daysLate }`. */
  penalty?: { taxHead: string; expression: Expression };
  /** Over `{ base, daysBeforeDue }`; the amount taken off. */
  rebate?: { taxHead: string; expression: Expression };
}

const v = (name: string) => ({ var: name });
/** Share of `value` in basis points, rounded half up to the minor unit. */
const share = (value: Expression, bp: Expression): Expression => ({ roundTo: [{ '/': [{ '*': [value, bp] }, 10_000] }, 1] });

function compileLine(line: FeeLine): Expression {
  switch (line.kind) {
    case 'fixed':
      return line.amount;
    case 'slab': {
      // First slab whose bound holds; -1 (no slab) is refused when computed.
      const args: Expression[] = [];
      for (const slab of line.slabs) {
        if (slab.upTo === null) return { if: [...args, slab.amount] };
        args.push({ '<=': [v(line.field), slab.upTo] }, slab.amount);
      }
      return { if: [...args, -1] };
    }
    case 'perUnit': {
      let e: Expression = { roundTo: [{ '*': [v(line.field), line.rate] }, 1] };
      if (line.maximum !== undefined) e = { min: [line.maximum, e] };
      if (line.minimum !== undefined) e = { max: [line.minimum, e] };
      return e;
    }
    case 'expression':
      return line.expression;
  }
}

export function compileRule(rule: FeeRule): CompiledRule {
  const compiled: CompiledRule = { lines: rule.lines.map((line) => ({ taxHead: line.taxHead, expression: compileLine(line) })) };
  if (rule.penalty) {
    const p = rule.penalty;
    const dl = v('daysLate');
    // Started 30-day periods: 1 + floor(daysLate / 30), without a floor operator.
    const months: Expression = { '+': [1, { '/': [{ '-': [dl, { '%': [dl, 30] }] }, 30] }] };
    let pct: Expression = share(v('base'), { '*': [p.basisPointsPerMonth, months] });
    if (p.maxBasisPoints !== undefined) pct = { min: [share(v('base'), p.maxBasisPoints), pct] };
    compiled.penalty = { taxHead: p.taxHead, expression: { if: [{ and: [v('late'), { '>=': [dl, p.graceDays] }] }, { '+': [p.flat, pct] }, 0] } };
  }
  if (rule.rebate) {
    const r = rule.rebate;
    compiled.rebate = { taxHead: r.taxHead, expression: { if: [{ '>=': [v('daysBeforeDue'), r.daysBeforeDue] }, share(v('base'), r.basisPoints), 0] } };
  }
  return compiled;
}

/** Problems of a rule beyond its shape: slab order, open slabs, expressions, min ≤ max. */
export function feeRuleProblems(rule: FeeRule): FieldProblem[] {
  const problems: FieldProblem[] = [];
  rule.lines.forEach((line, i) => {
    const at = `body.rule.lines.${i}`;
    if (line.kind === 'slab') {
      line.slabs.forEach((slab, j) => {
        if (slab.upTo === null && j !== line.slabs.length - 1) problems.push({ path: `${at}.slabs.${j}.upTo`, message: 'only the last slab may be open (null)' });
        const prev = line.slabs[j - 1]?.upTo;
        if (j > 0 && slab.upTo !== null && prev !== null && prev !== undefined && slab.upTo <= prev) problems.push({ path: `${at}.slabs.${j}.upTo`, message: 'bounds must increase' });
      });
    }
    if (line.kind === 'perUnit' && line.minimum !== undefined && line.maximum !== undefined && line.minimum > line.maximum) {
      problems.push({ path: `${at}.minimum`, message: 'greater than maximum' });
    }
    if (line.kind === 'expression') problems.push(...expressionProblems(line.expression, `${at}.expression`));
  });
  const heads = rule.lines.map((l) => l.taxHead);
  heads.forEach((h, i) => {
    if (heads.indexOf(h) !== i) problems.push({ path: `body.rule.lines.${i}.taxHead`, message: `tax head ${h} appears twice` });
  });
  return problems;
}

/** The record fields a rule reads (slab and per-unit lines), which must be numbers. */
export function fieldsOf(rule: FeeRule): string[] {
  return [...new Set(rule.lines.flatMap((l) => (l.kind === 'slab' || l.kind === 'perUnit' ? [l.field] : [])))];
}

function valueAt(record: unknown, path: string): unknown {
  let at: unknown = record;
  for (const part of path.split('.')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}

function asMinor(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_AMOUNT ? value : undefined;
}

export interface ComputedLine {
  taxHead: string;
  amount: number;
}

/**
 * The fee lines for a record. Fields the rule reads must be finite numbers (problems name
 * `body.data.<field>`); an expression must give an integer of minor units.
 */
export function computeFees(rule: FeeRule, compiled: CompiledRule, record: Record<string, unknown>): ComputedLine[] | FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of fieldsOf(rule)) {
    const value = valueAt(record, field);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push({ path: `body.data.${field}`, message: 'required by the fee rule: a number ≥ 0' });
  }
  if (problems.length > 0) return problems;
  const lines: ComputedLine[] = [];
  compiled.lines.forEach((line, i) => {
    let value: unknown;
    try {
      value = evaluateExpression(line.expression, record);
    } catch (err) {
      problems.push({ path: `body.data`, message: `line ${i} (${line.taxHead}): ${(err as Error).message}` });
      return;
    }
    if (value === -1 && rule.lines[i]!.kind === 'slab') {
      problems.push({ path: `body.data.${(rule.lines[i] as { field: string }).field}`, message: 'above the last slab of the fee rule' });
      return;
    }
    const minor = asMinor(value);
    if (minor === undefined) problems.push({ path: 'body.data', message: `line ${i} (${line.taxHead}) did not give an integer amount of minor units` });
    else lines.push({ taxHead: line.taxHead, amount: minor });
  });
  return problems.length > 0 ? problems : lines;
}

const DAY = 86_400_000;

/** What penalty and rebate expressions read about time: late (after due), whole days late, whole days left. */
export function timeFacts(dueAt: Date, at: Date): { late: boolean; daysLate: number; daysBeforeDue: number } {
  const diff = at.getTime() - dueAt.getTime();
  return diff > 0 ? { late: true, daysLate: Math.floor(diff / DAY), daysBeforeDue: -1 } : { late: false, daysLate: 0, daysBeforeDue: Math.floor(-diff / DAY) };
}

/** Penalty owed to date and rebate available now, on `base`, by the compiled expressions. */
export function timeBased(compiled: CompiledRule, base: number, dueAt: Date, at: Date): { penalty: number; rebate: number } {
  const facts = timeFacts(dueAt, at);
  const data = { base, ...facts };
  const penalty = compiled.penalty ? (asMinor(evaluateExpression(compiled.penalty.expression, data)) ?? 0) : 0;
  const rebate = compiled.rebate ? (asMinor(evaluateExpression(compiled.rebate.expression, data)) ?? 0) : 0;
  return { penalty, rebate: Math.min(rebate, base) };
}

/**
 * The next instant after `at` when the penalty or rebate may change: the rebate's last moment,
 * the due time, the end of the grace days, or the next 30-day step. A bill expires no later.
 */
export function nextChange(rule: FeeRule, dueAt: Date, at: Date): Date | undefined {
  const due = dueAt.getTime();
  const points: number[] = [];
  if (rule.rebate) points.push(due - rule.rebate.daysBeforeDue * DAY + 1);
  if (rule.penalty) {
    points.push(due + 1, due + rule.penalty.graceDays * DAY);
    const { daysLate } = timeFacts(dueAt, at);
    points.push(due + (daysLate - (daysLate % 30) + 30) * DAY);
  }
  const next = points.filter((p) => p > at.getTime()).sort((a, b) => a - b)[0];
  return next === undefined ? undefined : new Date(next);
}
