import { LogicEngine } from 'json-logic-engine';
import type { FieldProblem } from '../errors/seva-error.js';

/**
 * The one expression language of Seva: JSON Logic (json-logic-engine), extended once with the few
 * operations services need. Browser-safe: no Node APIs, so the web app evaluates the same rules.
 * Conditions, guards, eligibility rules and fee formulas are data; there is no `eval`.
 */
export type Expression = unknown;

const DAY_MS = 86_400_000;

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Whole years from `from` to `at`, as an age is counted (the birthday itself counts). */
function ageInYears(from: Date, at: Date): number {
  let years = at.getUTCFullYear() - from.getUTCFullYear();
  const before = at.getUTCMonth() < from.getUTCMonth() || (at.getUTCMonth() === from.getUTCMonth() && at.getUTCDate() < from.getUTCDate());
  if (before) years -= 1;
  return years;
}

function build(): LogicEngine {
  const engine = new LogicEngine();
  // Dates and ages: `{"ageInYears": [{"var": "dob"}, "2026-05-01"]}`; without a second date, null.
  engine.addMethod(
    'ageInYears',
    (args: unknown[]) => {
      const [from, at] = (Array.isArray(args) ? args : [args]).map(toDate);
      return from && at ? ageInYears(from, at) : null;
    },
    { deterministic: true },
  );
  engine.addMethod(
    'daysBetween',
    (args: unknown[]) => {
      const [a, b] = (Array.isArray(args) ? args : [args]).map(toDate);
      return a && b ? Math.floor((b.getTime() - a.getTime()) / DAY_MS) : null;
    },
    { deterministic: true },
  );
  // Money in integer minor units: rounding to a multiple (`{"roundTo": [1234, 100]}` → 1200).
  engine.addMethod(
    'roundTo',
    (args: unknown[]) => {
      const [value, step] = Array.isArray(args) ? args : [args, 1];
      const n = Number(value);
      const s = Number(step ?? 1) || 1;
      return Number.isFinite(n) ? Math.round(n / s) * s : null;
    },
    { deterministic: true },
  );
  // Lookups in data passed in (master data given to the evaluation): `{"lookup": [table, key, field?]}`.
  engine.addMethod(
    'lookup',
    (args: unknown[]) => {
      const [table, key, field] = Array.isArray(args) ? args : [];
      if (!table || typeof table !== 'object' || typeof key !== 'string') return null;
      const hit = (table as Record<string, unknown>)[key];
      if (field === undefined) return hit ?? null;
      return hit && typeof hit === 'object' ? ((hit as Record<string, unknown>)[String(field)] ?? null) : null;
    },
    { deterministic: true },
  );
  return engine;
}

const engine = build();
/** Operators that would let data throw or escape the pure-function shape are left out. */
const REFUSED = new Set(['throw', 'try', 'preserve', 'eachKey']);

/** Evaluates `expression` over `data`; an unknown operator or a failure inside it is an Error. */
export function evaluateExpression(expression: Expression, data: unknown): unknown {
  const problems = expressionProblems(expression);
  if (problems.length > 0) throw new Error(`Invalid expression: ${problems.map((p) => p.message).join('; ')}`);
  try {
    return engine.run(expression as never, data as never);
  } catch (err) {
    throw new Error(`The expression failed: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
  }
}

/** JSON Logic truthiness: empty arrays and empty strings are false, as in the reference implementation. */
export function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

/** Evaluates a condition; an absent condition holds. */
export function conditionHolds(expression: Expression | undefined, data: unknown): boolean {
  return expression === undefined || expression === null ? true : isTruthy(evaluateExpression(expression, data));
}

/**
 * What is wrong with an expression, each with a path below `base` (empty when it is usable):
 * every object must be one known operator applied to its arguments.
 */
export function expressionProblems(expression: Expression, base = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const at = (suffix: string) => (base ? (suffix ? `${base}.${suffix}` : base) : suffix);
  const walk = (node: unknown, path: string, depth: number): void => {
    if (depth > 64) {
      problems.push({ path: at(path), message: 'nested too deeply (more than 64 levels)' });
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, path ? `${path}.${i}` : String(i), depth + 1));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      problems.push({ path: at(path), message: `an operation is an object with exactly one operator, found ${keys.length} keys` });
      return;
    }
    const op = keys[0]!;
    if (REFUSED.has(op) || !(op in engine.methods)) {
      problems.push({ path: at(path), message: `unknown operator "${op}"` });
      return;
    }
    walk((node as Record<string, unknown>)[op], path ? `${path}.${op}` : op, depth + 1);
  };
  walk(expression, '', 0);
  return problems;
}
