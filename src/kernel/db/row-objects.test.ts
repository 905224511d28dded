import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../../../test/support/test-database.js';
import { plainRowObjects } from './row-objects.js';

// node-postgres only: the embedded engine has its own client.
describe.skipIf(!process.env.DATABASE_URL)('rows as plain objects from node-postgres', () => {
  let url: string;
  let plain: pg.Pool;
  let stock: pg.Pool;
  const text = `select $1::int8 as big, now() as at, '{"a":[1,2]}'::jsonb as doc, null::text as nothing, 'x' as dup, 'y' as dup,
    'p' as "__proto__", 'q' as "we""ird", array['a','b'] as list, g as n from generate_series(1, 3) g`;

  beforeAll(async () => {
    url = (await createFreshPostgresDatabase())!;
    plain = new pg.Pool({ connectionString: url, max: 1 });
    plainRowObjects(plain);
    stock = new pg.Pool({ connectionString: url, max: 1 });
  });
  afterAll(async () => {
    await plain?.end();
    await stock?.end();
    await dropPostgresDatabase(url);
  });

  it('hold what node-postgres gives, value for value, with the same types', async () => {
    const ours = await plain.query(text, ['9007199254740993']);
    const theirs = await stock.query(text, ['9007199254740993']);
    expect(ours.rows).toHaveLength(3);
    expect(ours.rows.map((r) => ({ ...r, at: undefined }))).toEqual(theirs.rows.map((r) => ({ ...r, at: undefined })));
    const row = ours.rows[0];
    expect(row.big).toBe('9007199254740993');
    expect(row.at).toBeInstanceOf(Date);
    expect(row.doc).toEqual({ a: [1, 2] });
    expect(row.nothing).toBeNull();
    expect(row.dup).toBe('y');
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('p');
    expect(row['we"ird']).toBe('q');
    expect(row.list).toEqual(['a', 'b']);
    expect(ours.rowCount).toBe(3);
    expect(ours.command).toBe('SELECT');
  });

  it('leave statements without parameters and callers asking for arrays as they were', async () => {
    const script = await plain.query('select 1 as one; select 2 as two');
    expect((script as unknown as pg.QueryResult[]).map((r) => r.rows[0])).toEqual([{ one: 1 }, { two: 2 }]);
    const arrays = await plain.query({ text: 'select $1::int as a, 2 as b', values: [1], rowMode: 'array' });
    expect(arrays.rows).toEqual([[1, 2]]);
  });

  it('parse values with the type parsers node-postgres would use: its own, a caller’s, one set on pg.types', async () => {
    const custom = { getTypeParser: (oid: number) => (value: string) => `${oid}:${value}` };
    const withTypes = await plain.query({ text: 'select $1::int as a, 2::int8 as b', values: [7], types: custom } as pg.QueryConfig);
    expect(withTypes.rows).toEqual([{ a: '23:7', b: '20:2' }]);
    // A parser set on node-postgres's own types applies here as it does to stock results.
    const CIRCLE = pg.types.builtins.CIRCLE;
    const before = pg.types.getTypeParser(CIRCLE, 'text');
    pg.types.setTypeParser(CIRCLE, (value: string) => `circle ${value}`);
    try {
      const ours = await plain.query('select $1::circle as c', ['<(1,2),3>']);
      const theirs = await stock.query('select $1::circle as c', ['<(1,2),3>']);
      expect(ours.rows).toEqual([{ c: 'circle <(1,2),3>' }]);
      expect(ours.rows).toEqual(theirs.rows);
    } finally {
      pg.types.setTypeParser(CIRCLE, before);
    }
    // Object-mode results elsewhere in the process still carry node-postgres's own row template.
    const objects = await stock.query('select $1::int as a', [5]);
    expect(objects.rows).toEqual([{ a: 5 }]);
    expect(objects.fields.map((f) => f.name)).toEqual(['a']);
  });

  it('keep the columns in the order of the statement', async () => {
    const { rows } = await plain.query(text, ['1']);
    expect(Object.keys(rows[0])).toEqual(Object.keys(rows[2]));
    expect(Object.keys(rows[0])).toEqual(['big', 'at', 'doc', 'nothing', 'dup', '__proto__', 'we"ird', 'list', 'n']);
  });
});
