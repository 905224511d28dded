import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, systemActor } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { referenceModuleWith } from './index.js';
import { seedReferenceDemo } from './seed.js';

let t: TestRuntime;
let admin: Record<string, string>;
let cityAdmin: Record<string, string>;
let reader: Record<string, string>;
const API = '/api/reference/v1';

beforeAll(async () => {
  t = await startTestRuntime([referenceModuleWith()]);
  admin = await t.as({ permissions: ['reference.*'], tenantId: 'in' });
  cityAdmin = await t.as({ permissions: ['reference.*'], tenantId: 'in.ka.bengaluru' });
  reader = await t.as({ permissions: ['reference.masterdata.read', 'reference.boundary.read'], tenantId: 'in.ka.bengaluru' });
  await seedReferenceDemo(t.runtime.contextFor('reference', systemActor('seed')));
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const record = (tenant: string, key: string, headers = reader) => inject({ url: `${API}/masterdata/schemas/tl.tradeType/records/${key}?tenant=${tenant}`, headers });

describe('master data', () => {
  it('resolves a key at the city, then the state, then the country', async () => {
    // FOOD.RESTAURANT: the city's own; RETAIL.SHOP: the state's; INDUSTRY.SMALL: the country's.
    const city = await record('in.ka.bengaluru', 'FOOD.RESTAURANT');
    expect(city.statusCode).toBe(200);
    expect(city.json()).toMatchObject({ tenantId: 'in.ka.bengaluru', data: { fee: { amount: 200_000 } } });
    expect((await record('in.ka.bengaluru', 'RETAIL.SHOP')).json()).toMatchObject({ tenantId: 'in.ka', data: { fee: { amount: 40_000 } } });
    expect((await record('in.ka.bengaluru', 'INDUSTRY.SMALL')).json()).toMatchObject({ tenantId: 'in', data: { fee: { amount: 300_000 } } });
    // Another city of the same state sees the state's and the country's, never Bengaluru's.
    expect((await record('in.ka.mysuru', 'FOOD.RESTAURANT', admin)).json()).toMatchObject({ tenantId: 'in', data: { fee: { amount: 150_000 } } });
    const list = await inject({ url: `${API}/masterdata/schemas/tl.tradeType/records?tenant=in.ka.bengaluru`, headers: reader });
    expect(list.json().items.map((r: { key: string; tenantId: string }) => `${r.key}@${r.tenantId}`)).toEqual([
      'FOOD.RESTAURANT@in.ka.bengaluru',
      'INDUSTRY.SMALL@in',
      'RETAIL.SHOP@in.ka',
    ]);
    expect((await record('in.ka.bengaluru', 'NOPE')).json().code).toBe('MASTERDATA_RECORD_NOT_FOUND');
  });

  it('rejects a record that does not match its schema, naming each field', async () => {
    const res = await inject({
      method: 'POST',
      url: `${API}/masterdata/schemas/tl.tradeType/records`,
      headers: cityAdmin,
      payload: { tenantId: 'in.ka.bengaluru', key: 'RETAIL.KIOSK', data: { name: 'Kiosk', category: 'STALL', fee: { amount: 'ten', currency: 'INR' }, colour: 'red' } },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('MASTERDATA_RECORD_INVALID');
    expect(res.json().errors).toEqual(
      expect.arrayContaining([
        { path: 'body.data.fee.amount', message: 'must be integer' },
        { path: 'body.data.category', message: 'must be one of "RETAIL", "FOOD", "INDUSTRY"' },
        { path: 'body.data.colour', message: 'is not allowed by the schema' },
      ]),
    );
    const missing = await inject({ method: 'POST', url: `${API}/masterdata/schemas/tl.tradeType/records`, headers: cityAdmin, payload: { tenantId: 'in.ka.bengaluru', key: 'X', data: { name: 'x', fee: { currency: 'INR' } } } });
    expect(missing.json().errors).toEqual([{ path: 'body.data.fee.amount', message: "must have required property 'amount'" }]);
  });

  it('refuses an unknown schema, a bad schema definition and malformed input with 4xx codes', async () => {
    const unknown = await inject({ method: 'POST', url: `${API}/masterdata/schemas/tl.nothing/records`, headers: admin, payload: { tenantId: 'in', key: 'A', data: {} } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'MASTERDATA_SCHEMA_NOT_FOUND', errors: [{ path: 'schema' }] });
    const badDefinition = await inject({ method: 'POST', url: `${API}/masterdata/schemas`, headers: admin, payload: { tenantId: 'in', code: 'x.bad', definition: { type: 'object', properties: { a: { type: 'strng' } } } } });
    expect(badDefinition.statusCode).toBe(400);
    expect(badDefinition.json()).toMatchObject({ code: 'MASTERDATA_SCHEMA_INVALID', errors: [{ path: 'body.definition' }] });
    const notObject = await inject({ method: 'POST', url: `${API}/masterdata/schemas`, headers: admin, payload: { tenantId: 'in', code: 'x.bad', definition: { type: 'string' } } });
    expect(notObject.json().code).toBe('MASTERDATA_SCHEMA_INVALID');
    const badKey = await inject({ method: 'POST', url: `${API}/masterdata/schemas/tl.tradeType/records`, headers: admin, payload: { tenantId: 'in', key: 'no spaces', data: {} } });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().errors[0].path).toBe('body.key');
    const again = await inject({ method: 'POST', url: `${API}/masterdata/schemas`, headers: admin, payload: { tenantId: 'in', code: 'tl.tradeType', definition: { type: 'object' } } });
    expect(again.json().code).toBe('MASTERDATA_SCHEMA_EXISTS');
  });

  it('updates with versions, serves the change from the cache at once, and audits it', async () => {
    const before = (await record('in.ka.bengaluru', 'RETAIL.SHOP')).json();
    const url = `${API}/masterdata/schemas/tl.tradeType/records/RETAIL.SHOP`;
    const payload = { tenantId: 'in.ka', version: before.version, data: { name: 'Retail shop', category: 'RETAIL', fee: { amount: 45_000, currency: 'INR' } } };
    const updated = await inject({ method: 'PUT', url, headers: admin, payload });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ version: before.version + 1 });
    expect((await record('in.ka.bengaluru', 'RETAIL.SHOP')).json().data.fee.amount).toBe(45_000);
    const stale = await inject({ method: 'PUT', url, headers: admin, payload });
    expect(stale.statusCode).toBe(409);
    // Deleting the state's record lets the country's show through.
    const gone = await inject({ method: 'DELETE', url: `${url}?tenantId=in.ka&version=${before.version + 1}`, headers: admin });
    expect(gone.statusCode).toBe(200);
    expect((await record('in.ka.bengaluru', 'RETAIL.SHOP')).json()).toMatchObject({ tenantId: 'in', data: { fee: { amount: 50_000 } } });
    const audit = await t.runtime.database.db.selectFrom('kernel.audit_log' as any).select('action').where('action', 'like', 'reference.masterdata.%').execute();
    expect(audit.map((a: any) => a.action)).toEqual(expect.arrayContaining(['reference.masterdata.created', 'reference.masterdata.updated', 'reference.masterdata.deleted']));
    const events = await t.runtime.database.db.selectFrom('kernel.outbox' as any).select('payload').where('name', '=', 'reference.masterdata.changed').execute();
    expect(events.length).toBeGreaterThan(3);
  });

  it('imports CSV with a per-row error report, and exports what it imported', async () => {
    const csv = ['key,name,category,fee.amount,fee.currency', 'FOOD.CART,Food cart,FOOD,2500,INR', 'FOOD.CAFE,Cafe,FOOD,lots,INR', 'RETAIL.MALL,Mall,RETAIL,900000,INR', 'FOOD.CART,Twice,FOOD,1,INR'].join('\n');
    const url = `${API}/masterdata/schemas/tl.tradeType/import`;
    const rejected = await inject({ method: 'POST', url, headers: cityAdmin, payload: { tenantId: 'in.ka.bengaluru', format: 'csv', content: csv } });
    expect(rejected.statusCode).toBe(422);
    expect(rejected.json().code).toBe('MASTERDATA_IMPORT_REJECTED');
    expect(rejected.json().rows).toEqual([
      { row: 2, key: 'FOOD.CAFE', errors: [{ path: 'rows.2.data.fee.amount', message: 'must be integer' }] },
      { row: 4, key: 'FOOD.CART', errors: [{ path: 'rows.4.key', message: 'the key appears again (first in row 1)' }] },
    ]);
    expect((await record('in.ka.bengaluru', 'FOOD.CART')).statusCode).toBe(404);

    const skipped = await inject({ method: 'POST', url, headers: cityAdmin, payload: { tenantId: 'in.ka.bengaluru', format: 'csv', content: csv, onError: 'skip' } });
    expect(skipped.statusCode).toBe(200);
    expect(skipped.json()).toMatchObject({ received: 4, created: 2, updated: 0, unchanged: 0 });
    expect(skipped.json().failed.map((f: { row: number }) => f.row)).toEqual([2, 4]);
    expect((await record('in.ka.bengaluru', 'FOOD.CART')).json().data).toEqual({ name: 'Food cart', category: 'FOOD', fee: { amount: 2500, currency: 'INR' } });

    const exported = await inject({ url: `${API}/masterdata/schemas/tl.tradeType/export?tenant=in.ka.bengaluru&format=csv`, headers: reader });
    expect(exported.json().count).toBe(3);
    expect(exported.json().content.split('\n')[0]).toBe('key,category,fee.amount,fee.currency,name');
    const json = await inject({ url: `${API}/masterdata/schemas/tl.tradeType/export?tenant=in.ka.bengaluru&format=json`, headers: reader });
    const again = await inject({ method: 'POST', url, headers: cityAdmin, payload: { tenantId: 'in.ka.bengaluru', format: 'json', content: json.json().content } });
    expect(again.json()).toMatchObject({ received: 3, created: 0, updated: 0, unchanged: 3 });
    const unreadable = await inject({ method: 'POST', url, headers: cityAdmin, payload: { tenantId: 'in.ka.bengaluru', format: 'csv', content: 'name\n"unclosed' } });
    expect(unreadable.json()).toMatchObject({ code: 'MASTERDATA_IMPORT_UNREADABLE', errors: [{ path: 'body.content' }] });
  });

  it('refuses writes outside the caller’s tenant but lets it read what it inherits', async () => {
    const write = await inject({ method: 'POST', url: `${API}/masterdata/schemas/tl.tradeType/records`, headers: cityAdmin, payload: { tenantId: 'in.ka', key: 'A', data: {} } });
    expect(write.statusCode).toBe(403);
    expect(write.json().code).toBe('TENANT_FORBIDDEN');
    expect((await record('in', 'INDUSTRY.SMALL')).statusCode).toBe(200);
    expect((await record('in.ka.mysuru', 'INDUSTRY.SMALL')).statusCode).toBe(403);
  });
});

describe('localization', () => {
  const bundle = (locale: string, tenant = 'in', headers: Record<string, string> = {}) => inject({ url: `${API}/localization/bundles/${locale}?tenant=${tenant}`, headers });

  it('falls back hi-IN → hi → the default locale, code by code', async () => {
    await inject({ method: 'PUT', url: `${API}/localization/messages`, headers: admin, payload: { tenantId: 'in', locale: 'hi-IN', messages: [{ module: 'core', code: 'nav.home', message: 'मुखपृष्ठ' }] } });
    await inject({ method: 'PUT', url: `${API}/localization/messages`, headers: admin, payload: { tenantId: 'in', locale: 'en', messages: [{ module: 'core', code: 'only.english', message: 'Only in English' }] } });
    const res = await bundle('hi-in');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ locale: 'hi-IN', direction: 'ltr', fallbacks: ['hi-IN', 'hi', 'en'] });
    expect(body.messages.core['nav.home']).toBe('मुखपृष्ठ'); // hi-IN
    expect(body.messages.core['action.submit']).toBe('जमा करें'); // hi
    expect(body.messages.core['only.english']).toBe('Only in English'); // en
  });

  it('applies a tenant’s overrides before its parents’ texts', async () => {
    expect((await bundle('en', 'in.ka.bengaluru')).json().messages.core['app.title']).toBe('Seva Bengaluru');
    expect((await bundle('hi-IN', 'in.ka.bengaluru')).json().messages.core['app.title']).toBe('सेवा बेंगलुरु');
    expect((await bundle('en', 'in.ka.mysuru')).json().messages.core['app.title']).toBe('Seva');
  });

  it('serves Arabic right to left and lists the locales', async () => {
    const ar = (await bundle('ar', 'in.ka')).json();
    expect(ar).toMatchObject({ direction: 'rtl', messages: { core: { 'action.submit': 'إرسال' } } });
    const locales = await inject({ url: `${API}/localization/locales?tenant=in.ka.bengaluru` });
    expect(locales.json().items.map((l: { locale: string; direction: string }) => `${l.locale}:${l.direction}`)).toEqual(['ar:rtl', 'en:ltr', 'hi:ltr', 'hi-IN:ltr']);
  });

  it('answers 304 to a current ETag and a new ETag after a change', async () => {
    const first = await bundle('en', 'in.ka.bengaluru');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    expect(first.headers['cache-control']).toContain('public');
    expect((await bundle('en', 'in.ka.bengaluru', { 'if-none-match': etag })).statusCode).toBe(304);
    await inject({ method: 'PUT', url: `${API}/localization/messages`, headers: cityAdmin, payload: { tenantId: 'in.ka.bengaluru', locale: 'en', messages: [{ module: 'core', code: 'nav.home', message: 'Start' }] } });
    const after = await bundle('en', 'in.ka.bengaluru', { 'if-none-match': etag });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.json().messages.core['nav.home']).toBe('Start');
  });

  it('refuses a malformed locale and an unknown module name, naming the field', async () => {
    const bad = await bundle('not_a_locale!');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('params.locale');
    const upload = await inject({ method: 'PUT', url: `${API}/localization/messages`, headers: admin, payload: { tenantId: 'in', locale: 'en', messages: [{ module: 'Core!', code: 'a', message: 'x' }] } });
    expect(upload.statusCode).toBe(400);
    expect(upload.json().errors[0].path).toBe('body.messages.0.module');
  });
});

describe('boundaries', () => {
  const locate = (tenant: string, lon: number, lat: number) => inject({ url: `${API}/boundaries/containing?tenant=${tenant}&hierarchy=ADMIN&lon=${lon}&lat=${lat}`, headers: reader });

  it('finds the most specific boundary that contains a point, with its ancestors', async () => {
    const inLocality = (await locate('in.ka.bengaluru', 77.52, 12.97)).json();
    expect(inLocality.boundary).toMatchObject({ code: 'BLR.W001.L01', level: 'locality' });
    expect(inLocality.ancestors.map((a: { code: string }) => a.code)).toEqual(['BLR.W001', 'BLR', 'BLR-URBAN', 'KA']);
    expect((await locate('in.ka.bengaluru', 77.7, 12.9)).json().boundary.code).toBe('BLR.W002');
    // From the state, the city's wards are not visible: the city is the most specific.
    expect((await locate('in.ka', 77.7, 12.9)).json().boundary.code).toBe('BLR');
    expect((await locate('in.ka.bengaluru', 10, 10)).json().boundary).toBeNull();
  });

  it('finds a boundary by code through its unique key, with a plan a connection keeps (generic)', async () => {
    const plan = await t.runtime.database.db.transaction().execute(async (trx) => {
      await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
      // The statement an ancestor walk sends for each level.
      const q = trx.withSchema('reference').selectFrom('boundaries').selectAll().where('hierarchy', '=', 'x').where('code', '=', 'x').where('tenant_id', 'in', ['a', 'b', 'c']).compile();
      await sql.raw(`prepare seva_boundary(text, text, text, text, text) as ${q.sql}`).execute(trx);
      const { rows } = await sql<Record<string, string>>`explain execute seva_boundary('ADMIN', 'BLR.W001', 'in', 'in.ka', 'in.ka.bengaluru')`.execute(trx);
      await sql`deallocate seva_boundary`.execute(trx);
      return rows.map((r) => Object.values(r)[0]).join('\n');
    });
    expect(plan).toContain('boundaries_hierarchy_tenant_id_code_key');
    // The code is matched in the index, not by reading every boundary of the hierarchy.
    expect(plan).toMatch(/Index Cond: .*code = \$2/);
  });

  it('searches by code, name in any locale, parent and level', async () => {
    const search = (query: string) => inject({ url: `${API}/boundaries?tenant=in.ka.bengaluru&hierarchy=ADMIN&${query}`, headers: reader });
    expect((await search('parent=BLR')).json().items.map((b: { code: string }) => b.code)).toEqual(['BLR.W001', 'BLR.W002']);
    expect((await search(`name=${encodeURIComponent('ಮಲ್ಲೇಶ್ವರಂ')}`)).json().items.map((b: { code: string }) => b.code)).toEqual(['BLR.W001.L01']);
    expect((await search('name=mysuru')).json().items.map((b: { code: string }) => b.code)).toEqual(['MYSURU', 'MYS']);
    expect((await search('level=ward')).json().items).toHaveLength(2);
    const one = await inject({ url: `${API}/boundaries/ADMIN/BLR.W002?tenant=in.ka.bengaluru`, headers: reader });
    expect(one.json()).toMatchObject({ code: 'BLR.W002', parent: 'BLR', names: { en: 'Ward 2 (East)' }, geometry: { type: 'Polygon' } });
    expect(one.json().ancestors.map((a: { code: string }) => a.code)).toEqual(['BLR', 'BLR-URBAN', 'KA']);
  });

  it('refuses a cyclic parent, a parent of a lower level and a bad polygon with 4xx', async () => {
    const blr = (await inject({ url: `${API}/boundaries/ADMIN/BLR?tenant=in.ka`, headers: admin })).json();
    const toSelf = await inject({ method: 'PATCH', url: `${API}/boundaries/ADMIN/BLR`, headers: admin, payload: { tenantId: 'in.ka', version: blr.version, parent: 'BLR' } });
    expect(toSelf.statusCode).toBe(422);
    expect(toSelf.json()).toMatchObject({ code: 'BOUNDARY_CYCLE', errors: [{ path: 'body.parent' }] });
    const district = (await inject({ url: `${API}/boundaries/ADMIN/BLR-URBAN?tenant=in.ka`, headers: admin })).json();
    const underChild = await inject({ method: 'PATCH', url: `${API}/boundaries/ADMIN/BLR-URBAN`, headers: admin, payload: { tenantId: 'in.ka', version: district.version, parent: 'BLR' } });
    expect(underChild.statusCode).toBe(422);
    expect(underChild.json().code).toBe('BOUNDARY_CYCLE');
    const wardUnderLocality = await inject({
      method: 'POST',
      url: `${API}/boundaries`,
      headers: cityAdmin,
      payload: { tenantId: 'in.ka.bengaluru', hierarchy: 'ADMIN', code: 'BLR.W003', level: 'ward', parent: 'BLR.W001.L01', names: { en: 'Ward 3' } },
    });
    expect(wardUnderLocality.json().code).toBe('BOUNDARY_PARENT_LEVEL');
    const openRing = await inject({
      method: 'POST',
      url: `${API}/boundaries`,
      headers: cityAdmin,
      payload: { tenantId: 'in.ka.bengaluru', hierarchy: 'ADMIN', code: 'BLR.W003', level: 'ward', parent: 'BLR', names: { en: 'Ward 3' }, geometry: { type: 'Polygon', coordinates: [[[77, 12], [78, 12], [78, 13], [77, 13]]] } },
    });
    expect(openRing.statusCode).toBe(400);
    expect(openRing.json().errors[0].path).toMatch(/^body\.geometry\.coordinates\.0/);
    const moved = await inject({ method: 'PATCH', url: `${API}/boundaries/ADMIN/BLR`, headers: admin, payload: { tenantId: 'in.ka', version: blr.version, names: { en: 'Bengaluru', kn: 'ಬೆಂಗಳೂರು' } } });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().version).toBe(blr.version + 1);
  });
});

describe('demo seed', () => {
  it('can run again without changing anything', async () => {
    const count = async () => Number((await t.runtime.database.db.selectFrom('reference.boundaries' as any).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    await seedReferenceDemo(t.runtime.contextFor('reference', systemActor('seed')));
    expect(await count()).toBe(before);
  });
});
