import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor, z, type ModuleDef, type OperationDef } from '../src/kernel/index.js';
import { tenantFieldsOf } from '../src/kernel/modules/tenant-scope.js';
import { createEmployee } from '../src/modules/identity/employees.js';
import { createRole } from '../src/modules/identity/roles.js';
import { createTenant } from '../src/modules/identity/tenants.js';
import { builtInModules } from '../src/server/catalog.js';
import { startTestRuntime, type TestRuntime } from './support/test-runtime.js';

/**
 * Walks every module route of a runtime with all built-in modules and proves that a user of
 * tenant `ta` cannot act on tenant `tb` through it. A route the walk cannot judge must be listed
 * below with its reason, so a new route cannot slip past the check unnoticed.
 */
const NOT_TENANT_BEARING: Record<string, string> = {
  'system.listDeadLetters': 'platform operator surface (permission system.*), no tenant input',
  'system.replayDeadLetter': 'platform operator surface (permission system.*), no tenant input',
  'system.verifyAudit': 'platform operator surface (permission system.*), no tenant input',
  'identity.getEmployee': 'looked up by id: checked below, another tenant’s employee answers 404',
  'identity.logout': 'acts on the caller’s own refresh token, no tenant input',
  'identity.rotateSigningKey': 'platform-wide signing key (permission identity.key.rotate), no tenant input',
  'identity.enrolTotp': 'acts on the caller’s own account, no tenant input',
  'identity.confirmTotp': 'acts on the caller’s own account, no tenant input',
  'identity.disableTotp': 'acts on the caller’s own account, no tenant input',
  'identity.me': 'the caller’s own profile, no tenant input',
  'identity.updateMe': 'the caller’s own profile, no tenant input',
  'identity.assignEmployee': 'looked up by id: checked below, another tenant’s employee answers 404',
  'identity.listAssignments': 'looked up by id: checked below, another tenant’s employee answers 404',
  'identity.updateEmployee': 'looked up by id: checked below, another tenant’s employee answers 404',
  'identity.resetEmployeePassword': 'looked up by id: checked below, another tenant’s employee answers 404',
  'identity.changeOwnPassword': 'acts on the caller’s own account, no tenant input',
  'identity.listDevOutbox': 'no tenant input: lists only the caller’s tenant and below (filtered in the query)',
  'files.getFile': 'looked up by id: checked below, another tenant’s file answers 404',
  'files.deleteFile': 'looked up by id: checked below, another tenant’s file answers 404',
  'files.attachFile': 'looked up by id: checked below, another tenant’s file answers 404',
  'files.createDownloadUrl': 'looked up by id: checked below, another tenant’s file answers 404',
  'notify.getMessage': 'looked up by id: another tenant’s message answers 404 (checked below)',
  'notify.updateSubscription': 'looked up by id: another tenant’s subscription answers 404 (checked below)',
  'notify.listInbox': 'the caller’s own in-app messages, no tenant input',
  'notify.markRead': 'the caller’s own in-app message by id; another user’s answers 404 (notify tests)',
  'notify.listPreferences': 'the caller’s own preferences, no tenant input',
  'notify.setPreference': 'the caller’s own preferences, no tenant input',
  'workflow.getProcess': 'looked up by id: checked below, another tenant’s process answers 404',
  'workflow.processHistory': 'looked up by id: checked below, another tenant’s process answers 404',
  'workflow.takeAction': 'looked up by id: checked below, another tenant’s process answers 404',
  'workflow.claimProcess': 'looked up by id: checked below, another tenant’s process answers 404',
  'workflow.releaseProcess': 'looked up by id: checked below, another tenant’s process answers 404',
  'workflow.reassignProcess': 'looked up by id: checked below, another tenant’s process answers 404',
  'workflow.runTimers': 'platform timer pass (permission workflow.timers.run), no tenant input',
  'credentials.getCredential': 'looked up by id: another tenant’s credential answers 404 (checked below)',
  'credentials.credentialQr': 'looked up by id: another tenant’s credential answers 404 (checked below)',
  'credentials.suspend': 'looked up by id: another tenant’s credential answers 404 (checked below)',
  'credentials.reinstate': 'looked up by id: another tenant’s credential answers 404 (checked below)',
  'credentials.revoke': 'looked up by id: another tenant’s credential answers 404 (checked below)',
  'credentials.correct': 'looked up by id: another tenant’s credential answers 404 (checked below)',
  'billing.getDemand': 'looked up by id: another tenant’s demand answers 404 (checked below)',
  'billing.adjustDemand': 'looked up by id: another tenant’s demand answers 404 (checked below)',
  'billing.cancelDemand': 'looked up by id: another tenant’s demand answers 404 (checked below)',
  'billing.getBill': 'looked up by id: another tenant’s bill answers 404 (checked below)',
  'billing.getPayment': 'looked up by id: another tenant’s payment answers 404 (checked below)',
  'billing.getReceipt': 'looked up by id: another tenant’s payment answers 404 (checked below)',
  'billing.refundPayment': 'looked up by id: another tenant’s payment answers 404 (checked below)',
  'billing.cancelPayment': 'looked up by id: another tenant’s payment answers 404 (checked below)',
  'billing.getOrder': 'looked up by id: another tenant’s order answers 404 (billing tests)',
  'billing.reconcileOrders': 'platform reconciliation pass (permission billing.reconcile.run), no tenant input',
  'credentials.getBulkJob': 'looked up by id: another tenant’s bulk job answers 404 (checked below)',
  'credentials.myCredentials': 'the caller’s own credentials (by their verified mobile), no tenant input',
  'credentials.myCredential': 'the caller’s own credential by id; anyone else’s answers 404 (credentials tests)',
};

/**
 * A module's own routes (not operations) in OpenAPI, by operationId, with why tenant scope does
 * not apply or where it is tested; an unlisted one fails the walk.
 */
const CUSTOM_ROUTES: Record<string, string> = {
  'identity.oauthToken': 'public OAuth token endpoint; signs in to the tenant named in the request (login tests)',
  'identity.requestOtp': 'public; sends a code for the named tenant, answers the same whether an account exists (otp tests)',
  'billing.gatewayCallback': 'public: the payment gateway’s signed redirect; the order is found by its id and the signature (billing online tests)',
  'billing.gatewayWebhook': 'public: the payment gateway’s HMAC-signed webhook (billing online tests)',
  'billing.receiptPdf': 'looked up by id: another tenant’s payment answers 404 (checked below and in billing tests)',
  'notify.smsReceipt': 'SMS provider webhook, authenticated by an HMAC signature; the message is found by its provider id (notify tests)',
};

const SNEAK_WORKFLOW = {
  code: 'SNEAK',
  name: 'Sneak',
  states: [{ name: 'OPEN', start: true }, { name: 'DONE', terminal: true }],
  actions: [{ name: 'FINISH', from: ['OPEN'], to: 'DONE', roles: ['ADMIN'] }],
};

/** Valid values for required fields the generic filler cannot derive. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  'identity.createTenant': { name: 'Other' },
  'identity.updateTenant': { name: 'Renamed', version: 1 },
  'identity.createRole': { code: 'SNEAK', name: 'Sneak', permissions: ['identity.tenant.read'] },
  'identity.createEmployee': { username: 'sneak', name: 'Sneak', password: 'Secret2025pass!x', roles: [] },
  'identity.findEmployees': { mobile: '9876543210' },
  'identity.createDepartment': { code: 'SNEAK', name: 'Sneak' },
  'identity.createDesignation': { code: 'SNEAK', name: 'Sneak' },
  'identity.createClient': { name: 'Sneak', roles: [] },
  'identity.changeRoles': { id: 'usr_any', roles: [{ role: 'ADMIN', tenant: 'ta' }] },
  'reference.defineSchema': { code: 'x.sneak', definition: { type: 'object' } },
  'reference.updateSchema': { code: 'x.sneak', version: 1, definition: { type: 'object' } },
  'reference.getSchema': { code: 'x.sneak' },
  'reference.createRecord': { schema: 'x.sneak', key: 'A', data: {} },
  'reference.updateRecord': { schema: 'x.sneak', key: 'A', version: 1, data: {} },
  'reference.deleteRecord': { schema: 'x.sneak', key: 'A', version: 1 },
  'reference.getRecord': { schema: 'x.sneak', key: 'A' },
  'reference.listRecords': { schema: 'x.sneak' },
  'reference.importRecords': { schema: 'x.sneak', format: 'json', content: '[]' },
  'reference.exportRecords': { schema: 'x.sneak' },
  'reference.upsertMessages': { locale: 'en', messages: [{ module: 'core', code: 'a', message: 'x' }] },
  'reference.deleteMessage': { locale: 'en', module: 'core', code: 'a' },
  'reference.listMessages': { locale: 'en' },
  'reference.createHierarchy': { code: 'ADMIN', name: 'Sneak', levels: ['state'] },
  'reference.createBoundary': { hierarchy: 'ADMIN', code: 'X', level: 'state', names: { en: 'X' } },
  'reference.updateBoundary': { hierarchy: 'ADMIN', code: 'X', version: 1 },
  'reference.getBoundary': { hierarchy: 'ADMIN', code: 'X' },
  'reference.searchBoundaries': { hierarchy: 'ADMIN' },
  'reference.locateBoundary': { hierarchy: 'ADMIN', lon: 77, lat: 12 },
  'reference.createIdFormat': { code: 'x.sneak', template: '[seq:4]' },
  'reference.generateIds': { format: 'x.sneak' },
  'files.setLimits': { maxBytes: 1024 },
  'identity.listContacts': { userIds: ['usr_any'] },
  'notify.upsertTemplate': { code: 'x.sneak', channel: 'sms', locale: 'en', body: 'x' },
  'notify.deleteTemplate': { code: 'x.sneak', channel: 'sms', locale: 'en' },
  'notify.renderTemplate': { code: 'x.sneak', channel: 'sms', locale: 'en' },
  'notify.send': { channel: 'sms', body: 'x', recipients: [{ address: '+919876500001' }] },
  'notify.createSubscription': { event: 'identity.user.created', template: 'x.sneak', audience: { kind: 'applicant' }, channels: ['sms'] },
  'notify.govstackSendEmailSingle': { recipientInfo: { email: 'a@example.org' }, emailContent: { title: 't', content: 'c' } },
  'notify.govstackSendEmailBatch': { recipientInfo: { batchEmailAsBase64: 'W10=' }, emailContent: { title: 't', content: 'c' } },
  'notify.govstackEmailCallback': { requestUid: 'req_any' },
  'notify.govstackEmailStatus': { requestUid: 'req_any' },
  'registry.defineRegistry': { code: 'sneak', name: 'Sneak', definition: { schema: { type: 'object' } } },
  'registry.updateRegistry': { code: 'sneak', version: 1 },
  'registry.getRegistry': { code: 'sneak' },
  'registry.createRecord': { registry: 'persons', data: {} },
  'registry.getRecord': { registry: 'persons', id: 'rec_any' },
  'registry.updateRecord': { registry: 'persons', id: 'rec_any', changes: {} },
  'registry.deleteRecord': { registry: 'persons', id: 'rec_any' },
  'registry.restoreRecord': { registry: 'persons', id: 'rec_any' },
  'registry.listRecordVersions': { registry: 'persons', id: 'rec_any' },
  'registry.listMyRecords': { registry: 'persons' },
  'registry.searchRecords': { registry: 'persons' },
  'registry.checkDuplicates': { registry: 'persons', id: 'rec_any' },
  'registry.listDuplicates': { registry: 'persons' },
  'registry.decideDuplicate': { registry: 'persons', id: 'rec_any', candidateId: 'rec_other', decision: 'not_duplicate', reason: 'sneaky' },
  'registry.importRecords': { registry: 'persons', format: 'json', content: '[]' },
  'registry.exportRecords': { registry: 'persons' },
  'registry.personalDataUsage': { registry: 'persons', userId: 'usr_any' },
  'workflow.defineWorkflow': { definition: SNEAK_WORKFLOW },
  'workflow.validateWorkflow': { definition: SNEAK_WORKFLOW },
  'workflow.getWorkflow': { code: 'SNEAK' },
  'workflow.startProcess': { service: 'SNEAK', businessId: 'B1' },
  'workflow.findProcess': { service: 'SNEAK', businessId: 'B1' },
  'credentials.createType': { code: 'sneak', vcType: 'Sneak', claimsSchema: { type: 'object' } },
  'credentials.issue': { claims: {} },
  'billing.defineTaxHead': { service: 'TL', code: 'TL_FEE', name: 'Fee', category: 'fee', glCode: '1402' },
  'billing.listTaxHeads': { service: 'TL' },
  'billing.defineFeeRule': { service: 'TL', rule: { currency: 'INR', lines: [{ kind: 'fixed', taxHead: 'TL_FEE', amount: 100 }] } },
  'billing.getFeeRule': { service: 'TL' },
  'billing.estimateFee': { service: 'TL' },
  'billing.createDemand': { service: 'TL', consumerCode: 'C1', periodFrom: '2026-04-01', periodTo: '2027-03-31', dueAt: '2027-03-31T00:00:00Z' },
  'billing.findDemands': { service: 'TL', consumerCode: 'C1' },
  'billing.fetchBill': { demandId: 'dmd_any' },
  'billing.generateBills': {},
  'billing.collectPayment': { billId: 'bill_any', amount: 100, mode: 'cash', idempotencyKey: 'sneaky-key-1' },
  'billing.startOnlinePayment': { billId: 'bill_any', returnUrl: 'https://example.org/back' },
  'billing.findPayments': { service: 'TL', consumerCode: 'C1' },
  'credentials.createBulkJob': { csv: 'sourceRef\nX-1' },
  'credentials.setDisplay': { code: 'sneak', display: {} },
};

const PASSWORD = 'Secret2025pass';
let t: TestRuntime;
let token: string;

beforeAll(async () => {
  t = await startTestRuntime(builtInModules);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  for (const code of ['ta', 'tb']) {
    await createTenant(ctx, { code, name: code });
    await createRole(ctx, { tenantId: code, code: 'ADMIN', name: 'Admin', permissions: ['identity.*', 'reference.*', 'files.*', 'notify.*', 'registry.*', 'workflow.*', 'credentials.*', 'billing.*'] });
    await createEmployee(ctx, { tenantId: code, username: 'admin', name: 'Admin', password: PASSWORD, roles: [{ role: 'ADMIN', tenant: code }] });
  }
  const res = await t.runtime.http.inject({
    method: 'POST',
    url: '/api/identity/v1/oauth/token',
    payload: { grant_type: 'password', username: 'admin', password: PASSWORD, tenant: 'ta' },
  });
  token = res.json().access_token;
}, 60_000);
afterAll(() => t?.close());

function operation(operationId: string): OperationDef<any, any> | undefined {
  const [module, name] = operationId.split('.');
  const def: ModuleDef | undefined = [...t.runtime.plan.local].find((m) => m.name === module);
  return def?.operations?.[name!];
}

/** A value that passes the field's schema, from its JSON schema; undefined when none is obvious. */
function sample(schema: any): unknown {
  if (schema.default !== undefined) return schema.default;
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'string':
      return schema.pattern || schema.format ? undefined : 'sample';
    default:
      return undefined;
  }
}

interface Route {
  operationId: string;
  method: string;
  path: string;
}

async function routes(): Promise<Route[]> {
  const doc = (await t.runtime.http.inject({ url: '/openapi.json' })).json();
  const found: Route[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    if (!/^\/api\/[a-z]+\/v1\//.test(path)) continue;
    for (const [method, spec] of Object.entries<any>(methods)) found.push({ operationId: spec.operationId, method: method.toUpperCase(), path });
  }
  return found;
}

describe('tenant isolation across every module route', () => {
  it('finds the routes and an operation for each', async () => {
    const all = await routes();
    expect(all.length).toBeGreaterThan(10);
    for (const r of all) {
      if (CUSTOM_ROUTES[r.operationId]) expect(operation(r.operationId), `${r.operationId} is an operation: remove it from CUSTOM_ROUTES`).toBeUndefined();
      else expect(operation(r.operationId), `${r.operationId}: not an operation and not listed in CUSTOM_ROUTES`).toBeDefined();
    }
    // Listed exemptions must name routes that exist.
    for (const id of Object.keys(NOT_TENANT_BEARING)) expect(all.map((r) => r.operationId)).toContain(id);
  });

  it('refuses tenant ta’s admin on tenant tb through every route that names a tenant', async () => {
    const checked: string[] = [];
    for (const route of await routes()) {
      if (CUSTOM_ROUTES[route.operationId]) continue;
      const op = operation(route.operationId)!;
      if (op.permission === 'public') continue;
      const shape = op.input.shape as Record<string, unknown>;
      // A nested path (`roles[].tenant`) counts when its array field exists.
      const fields = tenantFieldsOf(op).filter((f) => f.split('[]')[0]! in shape);
      if (fields.length === 0) {
        expect(NOT_TENANT_BEARING[route.operationId], `${route.operationId} names no tenant and is not listed in NOT_TENANT_BEARING`).toBeTruthy();
        continue;
      }
      const json: any = z.toJSONSchema(op.input, { io: 'input', unrepresentable: 'any' });
      const input: Record<string, unknown> = {};
      for (const name of json.required ?? []) input[name] = sample(json.properties[name]);
      Object.assign(input, SAMPLES[route.operationId] ?? {});
      for (const f of fields) {
        const [top, leaf] = f.split('[].');
        if (leaf === undefined) input[f] = 'tb';
        else input[top!] = ((input[top!] as Array<Record<string, unknown>> | undefined) ?? [{}]).map((item) => ({ ...item, [leaf]: 'tb' }));
      }
      const missing = Object.entries(input).filter(([, v]) => v === undefined).map(([k]) => k);
      expect(missing, `${route.operationId}: add a sample for ${missing.join(', ')} to SAMPLES`).toEqual([]);

      let url = `/api/${route.operationId.split('.')[0]}/v1${route.path.replace(/^\/api\/[a-z]+\/v1/, '')}`;
      url = url.replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = String(input[name]);
        delete input[name];
        return encodeURIComponent(value);
      });
      const reads = route.method === 'GET' || route.method === 'DELETE';
      const query = reads ? `?${new URLSearchParams(Object.entries(input).map(([k, v]) => [k, String(v)] as [string, string]))}` : '';
      const res = await t.runtime.http.inject({
        method: route.method as any,
        url: url + query,
        headers: { authorization: `Bearer ${token}` },
        ...(reads ? {} : { payload: input }),
      });
      expect(res.statusCode, `${route.method} ${url}: ${res.body}`).toBe(403);
      expect(res.json(), route.operationId).toMatchObject({ code: 'TENANT_FORBIDDEN' });
      checked.push(route.operationId);
    }
    expect(checked.length).toBeGreaterThanOrEqual(7);
  });

  it('answers 404 for another tenant’s employee looked up by id', async () => {
    const db = t.runtime.database.db;
    const row = await db.selectFrom('identity.users' as any).select('id').where('tenant_id', '=', 'tb').executeTakeFirstOrThrow();
    const headers = { authorization: `Bearer ${token}` };
    const res = await t.runtime.http.inject({ url: `/api/identity/v1/employees/${row.id}`, headers });
    expect(res.statusCode).toBe(404);
    const byId = [
      { method: 'GET' as const, url: `/api/identity/v1/employees/${row.id}/assignments` },
      { method: 'POST' as const, url: `/api/identity/v1/employees/${row.id}/assignments`, payload: { department: 'REV', designation: 'CLERK', jurisdiction: ['tb'], from: '2026-01-01' } },
      { method: 'PUT' as const, url: `/api/identity/v1/employees/${row.id}/roles`, payload: { roles: [] } },
      { method: 'PATCH' as const, url: `/api/identity/v1/employees/${row.id}`, payload: { version: 1, status: 'disabled' } },
      { method: 'PUT' as const, url: `/api/identity/v1/employees/${row.id}/password`, payload: { password: 'Takeover2026pass' } },
    ];
    for (const request of byId) expect((await t.runtime.http.inject({ ...request, headers })).statusCode, request.url).toBe(404);
    expect(await db.selectFrom('identity.user_roles' as any).select('user_id').where('user_id', '=', row.id).execute()).toHaveLength(1);
    expect(await db.selectFrom('identity.users' as any).select(['status', 'version']).where('id', '=', row.id).executeTakeFirst()).toEqual({ status: 'active', version: 1 });
    const mine = await db.selectFrom('identity.users' as any).select('id').where('tenant_id', '=', 'ta').executeTakeFirstOrThrow();
    expect((await t.runtime.http.inject({ url: `/api/identity/v1/employees/${mine.id}`, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
  });

  it('answers 404 for another tenant’s message or subscription looked up by id', async () => {
    const platform = await t.as({ kind: 'system', permissions: ['*'] });
    const sent = await t.runtime.http.inject({ method: 'POST', url: '/api/notify/v1/messages', headers: platform, payload: { tenantId: 'tb', channel: 'sms', body: 'x', recipients: [{ address: '+919876500001' }] } });
    expect(sent.statusCode, sent.body).toBe(202);
    const sub = await t.runtime.http.inject({
      method: 'POST',
      url: '/api/notify/v1/subscriptions',
      headers: platform,
      payload: { tenantId: 'tb', event: 'identity.user.created', template: 'welcome', audience: { kind: 'applicant', field: 'userId' }, channels: ['sms'] },
    });
    expect(sub.statusCode, sub.body).toBe(201);
    const headers = { authorization: `Bearer ${token}` };
    expect((await t.runtime.http.inject({ url: `/api/notify/v1/messages/${sent.json().messages[0].id}`, headers })).statusCode).toBe(404);
    expect((await t.runtime.http.inject({ url: `/api/notify/v1/messages/${sent.json().messages[0].id}`, headers: platform })).statusCode).toBe(200);
    const change = await t.runtime.http.inject({ method: 'PATCH', url: `/api/notify/v1/subscriptions/${sub.json().id}`, headers, payload: { version: 1, status: 'disabled' } });
    expect(change.statusCode).toBe(404);
  });

  it('answers 404 for another tenant’s credential looked up by id, on every route that takes one', async () => {
    const tbIssuer = await t.as({ tenantId: 'tb', permissions: ['credentials.*'] });
    const type = await t.runtime.http.inject({ method: 'POST', url: '/api/credentials/v1/types', headers: tbIssuer, payload: { tenantId: 'tb', code: 'licence', name: 'Licence', vcType: 'Licence', claimsSchema: { type: 'object' } } });
    expect(type.statusCode, type.body).toBe(201);
    const issued = await t.runtime.http.inject({ method: 'POST', url: '/api/credentials/v1/credentials', headers: tbIssuer, payload: { tenantId: 'tb', type: 'licence', sourceRef: 'L-1', claims: {} } });
    expect(issued.statusCode, issued.body).toBe(201);
    const id = issued.json().id;
    const headers = { authorization: `Bearer ${token}` };
    const byId = [
      { method: 'GET' as const, url: `/api/credentials/v1/credentials/${id}` },
      { method: 'GET' as const, url: `/api/credentials/v1/credentials/${id}/qr` },
      { method: 'POST' as const, url: `/api/credentials/v1/credentials/${id}/suspend`, payload: { reason: 'sneak' } },
      { method: 'POST' as const, url: `/api/credentials/v1/credentials/${id}/reinstate`, payload: { reason: 'sneak' } },
      { method: 'POST' as const, url: `/api/credentials/v1/credentials/${id}/revoke`, payload: { reason: 'sneak' } },
      { method: 'POST' as const, url: `/api/credentials/v1/credentials/${id}/correct`, payload: { claims: {}, reason: 'sneak' } },
      { method: 'GET' as const, url: `/api/credentials/v1/credentials/${id}/pdf` },
    ];
    for (const request of byId) expect((await t.runtime.http.inject({ ...request, headers })).statusCode, request.url).toBe(404);
    expect((await t.runtime.http.inject({ url: `/api/credentials/v1/credentials/${id}`, headers: tbIssuer })).json()).toMatchObject({ id, status: 'active' });
    const job = await t.runtime.http.inject({ method: 'POST', url: '/api/credentials/v1/bulk-jobs', headers: tbIssuer, payload: { tenantId: 'tb', type: 'licence', csv: 'sourceRef\nL-2' } });
    expect(job.statusCode, job.body).toBe(202);
    expect((await t.runtime.http.inject({ url: `/api/credentials/v1/bulk-jobs/${job.json().id}`, headers })).statusCode).toBe(404);
    expect((await t.runtime.http.inject({ url: `/api/credentials/v1/bulk-jobs/${job.json().id}`, headers: tbIssuer })).statusCode).toBe(200);
  });

  it('refuses a role granted in another tenant, on creation and on change, and writes nothing', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const created = await t.runtime.http.inject({
      method: 'POST',
      url: '/api/identity/v1/employees',
      headers,
      payload: { tenantId: 'ta', username: 'twofaced', name: 'Two', password: 'Secret2025pass!x', roles: [{ role: 'ADMIN', tenant: 'ta' }, { role: 'ADMIN', tenant: 'tb' }] },
    });
    expect(created.statusCode).toBe(403);
    expect(created.json()).toMatchObject({ code: 'TENANT_FORBIDDEN', errors: [{ path: 'roles.1.tenant' }] });
    const db = t.runtime.database.db;
    expect(await db.selectFrom('identity.users' as any).select('id').where('username', '=', 'twofaced').execute()).toHaveLength(0);
    const mine = await db.selectFrom('identity.users' as any).select('id').where('tenant_id', '=', 'ta').executeTakeFirstOrThrow();
    const changed = await t.runtime.http.inject({ method: 'PUT', url: `/api/identity/v1/employees/${mine.id}/roles`, headers, payload: { roles: [{ role: 'ADMIN', tenant: 'tb' }] } });
    expect(changed.statusCode).toBe(403);
    const roles = await db.selectFrom('identity.user_roles' as any).select('tenant_id').where('user_id', '=', mine.id).execute();
    expect(roles.map((r: any) => r.tenant_id)).toEqual(['ta']);
  });

  it('answers 404 for another tenant’s file looked up by id, on every route that takes one', async () => {
    const owner = await t.as({ id: 'usr_tb_owner', tenantId: 'tb', permissions: ['files.*'] });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(5000, 32)]);
    const uploaded = await t.runtime.http.inject({ method: 'POST', url: '/api/files/v1/files?purpose=document', headers: { ...owner, 'content-type': 'application/pdf' }, payload: pdf });
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const id = uploaded.json().id;
    const headers = { authorization: `Bearer ${token}` };
    const byId = [
      { method: 'GET' as const, url: `/api/files/v1/files/${id}` },
      { method: 'GET' as const, url: `/api/files/v1/files/${id}/content` },
      { method: 'GET' as const, url: `/api/files/v1/files/${id}/thumbnail` },
      { method: 'POST' as const, url: `/api/files/v1/files/${id}/download-url`, payload: {} },
      { method: 'POST' as const, url: `/api/files/v1/files/${id}/attach`, payload: { recordType: 'sneak', recordId: 'x' } },
      { method: 'DELETE' as const, url: `/api/files/v1/files/${id}` },
    ];
    for (const request of byId) expect((await t.runtime.http.inject({ ...request, headers })).statusCode, request.url).toBe(404);
    const upload = await t.runtime.http.inject({ method: 'POST', url: '/api/files/v1/files?purpose=document&tenantId=tb', headers: { ...headers, 'content-type': 'application/pdf' }, payload: pdf });
    expect(upload.json()).toMatchObject({ status: 403, code: 'TENANT_FORBIDDEN' });
    expect((await t.runtime.http.inject({ url: `/api/files/v1/files/${id}`, headers: owner })).json()).toMatchObject({ id, record: null });
  });

  it('answers 404 for another tenant’s workflow process looked up by id, on every route that takes one', async () => {
    const platform = t.runtime.contextFor('workflow', systemActor('test'));
    await platform.call('workflow', 'defineWorkflow', { tenantId: 'tb', definition: SNEAK_WORKFLOW });
    const process = await platform.call<{ id: string; version: number }>('workflow', 'startProcess', { tenantId: 'tb', service: 'SNEAK', businessId: 'TB-1' });
    const headers = { authorization: `Bearer ${token}` };
    const base = `/api/workflow/v1/processes/${process.id}`;
    const byId = [
      { method: 'GET' as const, url: base },
      { method: 'GET' as const, url: `${base}/history` },
      { method: 'POST' as const, url: `${base}/actions`, payload: { action: 'FINISH', version: 1 } },
      { method: 'POST' as const, url: `${base}/claim`, payload: {} },
      { method: 'POST' as const, url: `${base}/release`, payload: {} },
      { method: 'POST' as const, url: `${base}/reassign`, payload: { assignee: null } },
    ];
    for (const request of byId) expect((await t.runtime.http.inject({ ...request, headers })).statusCode, request.url).toBe(404);
    const after = await platform.call<{ state: string; version: number; claimedBy: string | null }>('workflow', 'getProcess', { id: process.id });
    expect(after).toMatchObject({ state: 'OPEN', version: 1, claimedBy: null });
  });

  it('answers 404 for another tenant’s demand, bill and payment looked up by id, on every route that takes one', async () => {
    const tb = t.runtime.contextFor('billing', systemActor('test'));
    await t.runtime.contextFor('reference', systemActor('test')).call('reference', 'createIdFormat', { tenantId: 'tb', code: 'billing.receipt', template: 'R-[seq:6]' });
    await tb.call('billing', 'defineTaxHead', { tenantId: 'tb', service: 'TL', code: 'TL_FEE', name: 'Fee', category: 'fee', glCode: '1402' });
    await tb.call('billing', 'defineFeeRule', { tenantId: 'tb', service: 'TL', rule: { currency: 'INR', lines: [{ kind: 'fixed', taxHead: 'TL_FEE', amount: 1000 }] } });
    const demand = await tb.call<{ id: string; version: number }>('billing', 'createDemand', { tenantId: 'tb', service: 'TL', consumerCode: 'TB-1', periodFrom: '2026-04-01', periodTo: '2027-03-31', dueAt: '2027-03-31T00:00:00Z' });
    const bill = await tb.call<{ id: string }>('billing', 'fetchBill', { tenantId: 'tb', demandId: demand.id });
    const payment = await tb.call<{ id: string }>('billing', 'collectPayment', { tenantId: 'tb', billId: bill.id, amount: 1000, mode: 'cash', idempotencyKey: 'tb-payment-1' });
    const headers = { authorization: `Bearer ${token}` };
    const b = '/api/billing/v1';
    const byId = [
      { method: 'GET' as const, url: `${b}/demands/${demand.id}` },
      { method: 'POST' as const, url: `${b}/demands/${demand.id}/adjustments`, payload: { version: demand.version, kind: 'waiver', lines: [{ taxHead: 'TL_FEE', delta: -1 }], reason: 'sneak' } },
      { method: 'POST' as const, url: `${b}/demands/${demand.id}/cancel`, payload: { version: demand.version, reason: 'sneak' } },
      { method: 'GET' as const, url: `${b}/bills/${bill.id}` },
      { method: 'GET' as const, url: `${b}/payments/${payment.id}` },
      { method: 'GET' as const, url: `${b}/payments/${payment.id}/receipt` },
      { method: 'GET' as const, url: `${b}/payments/${payment.id}/receipt.pdf` },
      { method: 'POST' as const, url: `${b}/payments/${payment.id}/refunds`, payload: { amount: 1, reason: 'sneak', idempotencyKey: 'sneaky-refund' } },
      { method: 'POST' as const, url: `${b}/payments/${payment.id}/cancel`, payload: { reason: 'sneak' } },
    ];
    for (const request of byId) expect((await t.runtime.http.inject({ ...request, headers })).statusCode, request.url).toBe(404);
    expect(await tb.call('billing', 'getPayment', { id: payment.id })).toMatchObject({ status: 'completed', refunded: 0 });
  });

  it('lets the same admin act in its own tenant and below, and the platform anywhere', async () => {
    const own = await t.runtime.http.inject({ url: '/api/identity/v1/tenants/ta', headers: { authorization: `Bearer ${token}` } });
    expect(own.statusCode).toBe(200);
    const child = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${token}` }, payload: { code: 'ta.x', name: 'Child' } });
    expect(child.statusCode).toBe(201);
    const prefixOnly = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/tenants', headers: { authorization: `Bearer ${token}` }, payload: { code: 'tax', name: 'Not a child' } });
    expect(prefixOnly.statusCode).toBe(403);
    const platform = await t.runtime.http.inject({ url: '/api/identity/v1/tenants/tb', headers: await t.as({ kind: 'system', permissions: ['*'] }) });
    expect(platform.statusCode).toBe(200);
  });
});
