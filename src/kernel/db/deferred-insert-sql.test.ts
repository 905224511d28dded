import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { deferredInsertQuery } from './deferred-insert-sql.js';

// Compiles only: the comparison is of SQL text and parameters, the same on both engines.
const db = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const kysely = (table: string, rows: Array<Record<string, unknown>>) => db.insertInto(table).values(rows).compile();

describe('deferred inserts written directly', () => {
  it('match what Kysely writes: schema-qualified table, columns in first-seen order, values as parameters', () => {
    const at = new Date('2026-11-24T06:00:00Z');
    const rows = [
      { id: 'aud_1', at, tenant_id: null, data: '{"a":1}', tags: ['x', 'y'] },
      { id: 'aud_2', at, tenant_id: 'in', data: '{}', tags: [] },
    ];
    const direct = deferredInsertQuery(db, 'kernel.audit_log', rows);
    const expected = kysely('kernel.audit_log', rows);
    expect(direct.sql).toBe(expected.sql);
    expect(direct.parameters).toEqual(expected.parameters);
    expect(direct.sql).toBe('insert into "kernel"."audit_log" ("id", "at", "tenant_id", "data", "tags") values ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)');
  });

  it('write default where a row lacks a column another row has, as Kysely does', () => {
    const rows = [{ id: 'a', name: 'one' }, { id: 'b', extra: 2 }, { id: 'c', name: undefined, extra: 3 }];
    const direct = deferredInsertQuery(db, 'workflow.transitions', rows);
    const expected = kysely('workflow.transitions', rows);
    expect(direct.sql).toBe(expected.sql);
    expect(direct.parameters).toEqual(expected.parameters);
    expect(direct.sql).toContain('default');
  });

  it('quote names holding a double quote', () => {
    const rows = [{ 'we"ird': 1 }];
    expect(deferredInsertQuery(db, 's.t"x', rows).sql).toBe(kysely('s.t"x', rows).sql);
  });

  it('write `sql` values in place with their parameters numbered on, as Kysely does', () => {
    const rows = [
      { id: 'wft_1', seq: sql`(select coalesce(max(seq), 0) + 1 from workflow.transitions where process_id = ${'wfp_1'})`, at: 'x' },
      { id: 'wft_2', seq: sql`(select ${3}::int + ${4})`, at: 'y' },
    ];
    const direct = deferredInsertQuery(db, 'workflow.transitions', rows);
    const expected = kysely('workflow.transitions', rows);
    expect(direct.sql).toBe(expected.sql);
    expect(direct.parameters).toEqual(expected.parameters);
    expect(direct.sql).toBe(
      'insert into "workflow"."transitions" ("id", "seq", "at") values ($1, (select coalesce(max(seq), 0) + 1 from workflow.transitions where process_id = $2), $3), ($4, (select $5::int + $6), $7)',
    );
    expect(direct.parameters).toEqual(['wft_1', 'wfp_1', 'x', 'wft_2', 3, 4, 'y']);
  });

  it('leave rows holding another expression, or `sql` with a quoted literal, to Kysely', () => {
    const builder = [{ id: 'a', n: db.selectFrom('t').select('n').where('id', '=', 'b') }];
    const viaBuilder = deferredInsertQuery(db, 's.t', builder);
    expect([viaBuilder.sql, viaBuilder.parameters]).toEqual([kysely('s.t', builder).sql, kysely('s.t', builder).parameters]);
    expect(viaBuilder.sql).toContain('(select "n" from "t" where "id" = $2)');
    const literal = [{ id: 'a', note: sql`${'x'} || '$1'` }];
    const direct = deferredInsertQuery(db, 's.t', literal);
    expect([direct.sql, direct.parameters]).toEqual([kysely('s.t', literal).sql, kysely('s.t', literal).parameters]);
    expect(direct.sql).toContain("'$1'");
  });
});
