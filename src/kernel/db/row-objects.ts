import { createRequire } from 'node:module';
import type pg from 'pg';

/** Row builders by their columns' names; a process runs a bounded set of statement shapes. */
const builders = new Map<string, (values: unknown[]) => Record<string, unknown>>();
const BUILDERS_KEPT = 2_000;

/**
 * Rows as plain objects of one shape per statement. node-postgres builds each row by spreading a
 * prototype-less template, which gives V8 objects in dictionary mode: slow to make, slow to read
 * (a fifth of a workflow transition's database-client time). Here statements with parameters are
 * asked for rows as arrays, and each array becomes an object literal compiled once per column
 * list, so every row of a shape shares one hidden class. Columns named twice keep the last value,
 * as node-postgres does.
 */
export function plainRowObjects(pool: pg.Pool): void {
  skipUnusedRowTemplates();
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult<any>> | unknown;
    (client as { query: unknown }).query = (first: unknown, values?: unknown, ...rest: unknown[]) => {
      const config = asConfig(first, values, rest);
      if (!config) return query(first, values, ...rest);
      return (query({ ...config, rowMode: 'array' }) as Promise<pg.QueryResult<any>>).then(withObjects);
    };
  });
}

/** Only single statements with parameters, asked for a promise: those are the ones that repeat. */
function asConfig(first: unknown, values: unknown, rest: unknown[]): pg.QueryConfig | undefined {
  if (rest.length > 0) return undefined;
  if (typeof first === 'string') return Array.isArray(values) && values.length > 0 ? { text: first, values } : undefined;
  if (values !== undefined || typeof first !== 'object' || first === null) return undefined;
  const config = first as pg.QueryConfig & { rowMode?: string; submit?: unknown };
  if (config.rowMode !== undefined || typeof config.submit === 'function' || !Array.isArray(config.values) || config.values.length === 0) return undefined;
  return config;
}

function withObjects(result: pg.QueryResult<any>): pg.QueryResult<any> {
  if (result.rows.length > 0) {
    const build = builderFor(result.fields);
    const rows = result.rows as unknown as unknown[][];
    for (let i = 0; i < rows.length; i++) (rows as unknown[])[i] = build(rows[i]!);
  }
  return result;
}

function builderFor(fields: readonly pg.FieldDef[]): (values: unknown[]) => Record<string, unknown> {
  const key = fields.map((f) => f.name).join('\u0000');
  let build = builders.get(key);
  if (!build) {
    if (builders.size >= BUILDERS_KEPT) builders.clear();
    // Names are written as JSON string literals: any name a database returns is a valid key. A
    // column named __proto__ is a computed key, which defines a property instead of a prototype.
    const entry = (name: string, i: number) => (name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name)) + `: v[${i}]`;
    const body = `return { ${fields.map((f, i) => entry(f.name, i)).join(', ')} };`;
    build = new Function('v', body) as (values: unknown[]) => Record<string, unknown>;
    builders.set(key, build);
  }
  return build;
}

/** What this file relies on of node-postgres's `Result` (`pg/lib/result.js`, pg 8.23, pinned). */
interface PgResult {
  rowAsArray: boolean;
  fields: unknown[];
  _parsers: Array<(value: string) => unknown> | undefined;
  _types: { getTypeParser(oid: number, format: string): (value: string) => unknown } | undefined;
}

let templatesSkipped = false;

/**
 * node-postgres describes every result's columns anew (`Result.addFields`), and besides each
 * column's parser it builds an empty row object by spreading a prototype-less template: the
 * largest single cost of a workflow transition's database client (~3.6 % of its server thread).
 * Rows asked for as arrays never use that template, so for them only the parsers are set, as
 * node-postgres sets them. Results in object mode are untouched. Applied once per process, and
 * only when `Result` still has the shape this relies on.
 */
function skipUnusedRowTemplates(): void {
  if (templatesSkipped) return;
  templatesSkipped = true;
  const require = createRequire(import.meta.url);
  const Result = require('pg/lib/result.js') as { prototype: { addFields?: (this: PgResult, fields: pg.FieldDef[]) => void } };
  // The type parsers node-postgres itself uses (custom ones are set on this very object).
  const types = (require('pg') as { types: NonNullable<PgResult['_types']> }).types;
  const addFields = Result.prototype.addFields;
  if (typeof addFields !== 'function' || typeof types.getTypeParser !== 'function') return;
  Result.prototype.addFields = function (this: PgResult, fields: pg.FieldDef[]) {
    if (!this.rowAsArray) return addFields.call(this, fields);
    this.fields = fields;
    const parsers = new Array<(value: string) => unknown>(fields.length);
    const source = this._types ?? types;
    for (let i = 0; i < fields.length; i++) parsers[i] = source.getTypeParser(fields[i]!.dataTypeID, fields[i]!.format || 'text');
    this._parsers = parsers;
  };
}
