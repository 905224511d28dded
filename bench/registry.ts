import { randomBytes } from 'node:crypto';
import { loadConfig, startRuntime, systemActor, type OperationContext, type Runtime } from '../src/kernel/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { referenceModuleWith } from '../src/modules/reference/index.js';
import { PERSONS } from '../src/modules/registry/demo-registries.js';
import { registryModule } from '../src/modules/registry/index.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from '../test/support/test-database.js';
import { fmt, note, progress, row, type Row } from './lib/report.js';

const RECORDS = Number(process.env.SEVA_BENCH_REGISTRY_RECORDS ?? 1_000_000);
const QUERIES = 200;
const IMPORT_BATCH = 5_000;
const IMPORT_BATCHES = 8;
/** Import clients at once, as a loader feeding several files would be: encryption in Node overlaps index writes in PostgreSQL. */
const IMPORT_CLIENTS = 3;
const TENANT = 'in';

/**
 * On PostgreSQL only (`DATABASE_URL`): a persons registry with RECORDS generated rows, then fuzzy
 * name searches and duplicate checks through the operation gate (p50/p95 over QUERIES calls), and
 * the bulk import rate of records with two PII fields each.
 */
export async function registryBench(): Promise<Row[]> {
  if (!process.env.DATABASE_URL) {
    return [
      note('fuzzy name search p95, 1M persons', 'PostgreSQL', 'skipped (set DATABASE_URL)', '—', '< 100 ms'),
      note('duplicate check p95, 1M persons', 'PostgreSQL', 'skipped (set DATABASE_URL)', '—', '< 100 ms'),
      note('bulk import', 'PostgreSQL', 'skipped (set DATABASE_URL)', '—', '> 5,000 records/s'),
    ];
  }
  const url = (await createFreshPostgresDatabase())!;
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({ env: {}, overrides: { logLevel: 'warn', masterKey: randomBytes(32).toString('base64'), dataDir: 'memory://', databaseUrl: url, databasePoolSize: 10 } });
    runtime = await startRuntime({ config, catalog: [identityModule, referenceModuleWith(), registryModule], listen: false });
    const ctx = runtime.contextFor('registry', systemActor('bench'), 'bench-registry');
    const clerk = runtime.contextFor('registry', { kind: 'user', id: 'usr_bench', tenantId: TENANT, roles: ['CLERK'], permissions: ['registry.record.*'] }, 'bench-registry');
    const registry = await ctx.call<{ id: string }>('registry', 'defineRegistry', { tenantId: TENANT, ...PERSONS });
    const engine = 'PostgreSQL';

    const started = performance.now();
    await generatePersons(runtime, registry.id);
    const generatedIn = (performance.now() - started) / 1000;
    progress(`registry: ${fmt(RECORDS)} persons generated and indexed in ${fmt(generatedIn, 1)} s`);

    progress(`registry: ${QUERIES} fuzzy name searches`);
    const probes = await sampleNames(runtime, QUERIES);
    const search = await latencies(probes, (p) => clerk.call('registry', 'searchRecords', { tenantId: TENANT, registry: 'persons', criteria: [{ field: 'name', mode: 'fuzzy', value: typo(p.name) }], limit: 10 }));
    progress(`registry: ${QUERIES} duplicate checks (name fuzzy + same dob, national id exact)`);
    const dedup = await latencies(probes, (p) => clerk.call('registry', 'checkDuplicates', { tenantId: TENANT, registry: 'persons', data: { name: typo(p.name), dob: p.dob, nationalId: '999999999999' } }));
    const found = await clerk.call<{ items: Array<{ data: { name: string } }> }>('registry', 'searchRecords', { tenantId: TENANT, registry: 'persons', criteria: [{ field: 'name', mode: 'fuzzy', value: 'Mohamad Abdul' }], limit: 3 });
    progress(`registry: "Mohamad Abdul" finds ${found.items.map((i) => i.data.name).join(', ')}`);

    progress(`registry: bulk import, ${IMPORT_BATCHES} batches of ${fmt(IMPORT_BATCH)} from ${IMPORT_CLIENTS} clients`);
    const imported = await importRate(ctx);
    return [
      row(`persons generated in SQL and indexed (${fmt(RECORDS)})`, engine, generatedIn, 's', undefined, 1),
      row(`fuzzy name search p50 (${fmt(RECORDS)} persons, trigram)`, engine, search.p50, 'ms', undefined, 1),
      row(`fuzzy name search p95 (${fmt(RECORDS)} persons, trigram)`, engine, search.p95, 'ms', { below: 100 }, 1),
      row(`duplicate check p50 (${fmt(RECORDS)} persons, 2 rules)`, engine, dedup.p50, 'ms', undefined, 1),
      row(`duplicate check p95 (${fmt(RECORDS)} persons, 2 rules)`, engine, dedup.p95, 'ms', { below: 100 }, 1),
      row(`bulk import, JSON batches of ${fmt(IMPORT_BATCH)}, ${IMPORT_CLIENTS} clients, 2 PII fields each`, engine, imported, 'records/s', { above: 5_000 }),
    ];
  } finally {
    await runtime?.stop();
    await dropPostgresDatabase(url);
  }
}

/**
 * Rows in the shape the module writes (records, their first version, index rows with the same
 * normalisation and double-metaphone codes), made by the database itself. PII cannot be sealed in
 * SQL: the generated persons carry no ciphertexts; their national-id index rows are digests of
 * the same length as blind indexes, so the index has its real size.
 */
async function generatePersons(runtime: Runtime, registryId: string): Promise<void> {
  const sql = (text: string, values?: unknown[]) => runtime.database.executeSql(text, values);
  // Indexes are built once after the load, as a bulk load into an empty registry would.
  const indexes = (await sql(`select indexname, indexdef from pg_indexes where schemaname = 'registry' and tablename = 'record_index' and indexname <> 'record_index_pkey'`)).rows;
  for (const ix of indexes) await sql(`drop index registry.${ix.indexname}`);
  const syllables = ['ra', 'vi', 'ku', 'mar', 'sha', 'an', 'ka', 'li', 'de', 'na', 'pri', 'ya', 'su', 'ni', 'ta', 'mo', 'ha', 'med', 'ab', 'dul', 'ja', 'la', 'ksh', 'mi', 'sa', 'ro', 'ga', 'pa', 'ti', 've', 'nu', 'di', 'bha', 'ma', 'ri', 'go', 'pi', 'ren', 'son', 'dra'];
  const districts = ['Bengaluru Urban', 'Mysuru', 'Mandya', 'Udupi', 'Hassan', 'Tumakuru', 'Belagavi', 'Kalaburagi', 'Dharwad', 'Shivamogga'];
  progress(`registry: generating ${fmt(RECORDS)} persons`);
  await sql(`select setseed(0.42)`);
  await sql(
    `create unlogged table registry.bench_people as
     select i, initcap(s[1 + (random() * 39)::int] || s[1 + (random() * 39)::int]) || ' ' || initcap(s[1 + (random() * 39)::int] || s[1 + (random() * 39)::int] || s[1 + (random() * 39)::int]) as name,
            (date '1940-01-01' + (random() * 30000)::int)::text as dob, d[1 + (random() * 9)::int] as district,
            (array['female', 'male'])[1 + (random())::int] as gender
     from generate_series(1, $1::int) i, (select $2::text[] as s, $3::text[] as d) v`,
    [RECORDS, syllables, districts],
  );
  await sql(`insert into registry.bench_people values ($1, 'Mohammed Abdul', '1987-03-14', 'Bengaluru Urban', 'male')`, [RECORDS + 1]);
  const id = `'rec_bench' || lpad(i::text, 17, '0')`;
  progress('registry: records and versions');
  await sql(
    `insert into registry.records (id, tenant_id, registry_id, data, sealed, created_by, updated_by)
     select ${id}, $1, $2, jsonb_build_object('name', name, 'dob', dob, 'district', district, 'gender', gender), '{}', 'bench', 'bench' from registry.bench_people`,
    [TENANT, registryId],
  );
  await sql(
    `insert into registry.record_versions (record_id, version, tenant_id, change, data, sealed, status, changed_by)
     select id, 1, tenant_id, 'created', data, sealed, 'active', 'bench' from registry.records where registry_id = $1`,
    [registryId],
  );
  progress('registry: index rows (with double metaphone codes)');
  await sql(
    `insert into registry.record_index (record_id, registry_id, tenant_id, field, value_text, phonetic)
     select ${id}, $1, $2, 'name', lower(name),
       (select string_agg(dmetaphone(w), ' ' order by n) from regexp_split_to_table(lower(name), '\\s+') with ordinality as t(w, n) where dmetaphone(w) <> '')
     from registry.bench_people`,
    [registryId, TENANT],
  );
  await sql(
    `insert into registry.record_index (record_id, registry_id, tenant_id, field, value_text, phonetic)
     select ${id}, $1, $2, 'district', lower(district), (select string_agg(dmetaphone(w), ' ' order by n) from regexp_split_to_table(lower(district), '\\s+') with ordinality as t(w, n) where dmetaphone(w) <> '')
     from registry.bench_people`,
    [registryId, TENANT],
  );
  await sql(`insert into registry.record_index (record_id, registry_id, tenant_id, field, value_text, value_date) select ${id}, $1, $2, 'dob', dob, dob::date from registry.bench_people`, [registryId, TENANT]);
  await sql(
    `insert into registry.record_index (record_id, registry_id, tenant_id, field, value_bidx, unique_key)
     select ${id}, $1, $2, 'nationalId', d, d from (select i, rtrim(encode(sha256(i::text::bytea), 'base64'), '=') as d from registry.bench_people) x`,
    [registryId, TENANT],
  );
  await sql(`drop table registry.bench_people`);
  progress(`registry: building ${indexes.length} indexes`);
  for (const ix of indexes) await sql(ix.indexdef);
  await sql(`analyze registry.records`);
  await sql(`analyze registry.record_index`);
}

async function sampleNames(runtime: Runtime, n: number): Promise<Array<{ name: string; dob: string }>> {
  const { rows } = await runtime.database.executeSql(
    `select n.value_text as name, d.value_text as dob from registry.record_index n join registry.record_index d on d.record_id = n.record_id and d.field = 'dob'
     where n.field = 'name' and n.record_id in (select 'rec_bench' || lpad((1 + (random() * ${RECORDS - 1})::int)::text, 17, '0') from generate_series(1, ${n}))`,
  );
  return rows;
}

/** A typing slip: one letter dropped from the middle of the surname. */
function typo(name: string): string {
  const at = Math.max(name.indexOf(' ') + 2, Math.floor(name.length * 0.7));
  return name.slice(0, at) + name.slice(at + 1);
}

async function latencies<T>(items: readonly T[], call: (item: T) => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (const item of items.slice(0, 10)) await call(item);
  const times: number[] = [];
  for (const item of items) {
    const t0 = performance.now();
    await call(item);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  progress(`  p50 ${fmt(at(0.5), 1)} ms, p95 ${fmt(at(0.95), 1)} ms, max ${fmt(times[times.length - 1]!, 1)} ms`);
  return { p50: at(0.5), p95: at(0.95) };
}

async function importRate(ctx: OperationContext): Promise<number> {
  const batches = Array.from({ length: IMPORT_BATCHES }, (_, b) =>
    JSON.stringify(
      Array.from({ length: IMPORT_BATCH }, (_, i) => {
        const n = b * IMPORT_BATCH + i;
        return { name: `Imported Person ${n}`, dob: '1990-01-01', district: 'Mysuru', nationalId: String(100_000_000_000 + n), mobile: String(9_000_000_000 + n) };
      }),
    ),
  );
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IMPORT_CLIENTS }, async () => {
      while (next < batches.length) await ctx.call('registry', 'importRecords', { tenantId: TENANT, registry: 'persons', format: 'json', content: batches[next++]! });
    }),
  );
  const perSecond = (IMPORT_BATCH * IMPORT_BATCHES) / ((performance.now() - started) / 1000);
  progress(`  ${fmt(perSecond)} records/s`);
  return perSecond;
}
