import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../kernel/index.js';
import { eventually, startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { notifyModule } from './index.js';

/** The embedded shape: no SMTP, no SMS provider, so e-mail and SMS land in notify's development outbox. */
let t: TestRuntime;
const CITY = 'in.ka.bengaluru';

beforeAll(async () => {
  t = await startTestRuntime([identityModule, notifyModule]);
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  for (const [code, name] of [['in', 'India'], ['in.ka', 'Karnataka'], [CITY, 'Bengaluru']]) await ctx.call('identity', 'createTenant', { code: code!, name: name! });
  await ctx.call('identity', 'createRole', { tenantId: 'in', code: 'CITIZEN', name: 'Citizen', permissions: ['identity.session.logout'] });
  await ctx.call('identity', 'createRole', { tenantId: 'in.ka', code: 'GRO', name: 'Grievance officer', permissions: ['identity.session.logout'] });
}, 120_000);
afterAll(() => t?.close());

describe('identity through notify', () => {
  it('sends the OTP of a sign-in through notify: the code in notify’s development outbox signs the citizen in', async () => {
    const mobile = '9876512399';
    const asked = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/otp', payload: { tenant: CITY, mobile } });
    expect(asked.statusCode).toBe(202);
    const reader = await t.as({ tenantId: 'in', permissions: ['notify.outbox.read'] });
    const message = await eventually(async () => {
      const res = await t.runtime.http.inject({ url: '/api/notify/v1/dev-outbox?tenant=in', headers: reader });
      return res.json().items.find((m: { recipient: string }) => m.recipient === mobile);
    }, 'the OTP in notify’s dev outbox');
    expect(message).toMatchObject({ channel: 'sms', tenantId: CITY });
    const code = /\b(\d{6})\b/.exec(message.body)![1]!;
    const token = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'otp', tenant: CITY, mobile, otp: code } });
    expect(token.statusCode, token.body).toBe(200);

    // Mandatory and once per code, whatever the citizen's preferences.
    const staff = await t.as({ tenantId: 'in', permissions: ['notify.message.read'] });
    const listed = (await t.runtime.http.inject({ url: '/api/notify/v1/messages?tenant=in&channel=sms', headers: staff })).json().items;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ provider: 'devoutbox', status: 'sent', mandatory: true, category: 'security', recipientMasked: '987******99' });
    expect(JSON.stringify(listed)).not.toContain(code);

    // Without the permission, nobody reads the outbox; the rows hold no plain recipient or code.
    expect((await t.runtime.http.inject({ url: '/api/notify/v1/dev-outbox?tenant=in', headers: staff })).statusCode).toBe(403);
    const raw = await t.runtime.database.db.selectFrom('notify.messages' as any).selectAll().execute();
    expect(JSON.stringify(raw)).not.toContain(mobile);
    expect(JSON.stringify(raw)).not.toContain(code);
  });

  it('lists contacts by id and by role within a boundary, with its own permission', async () => {
    const ctx = t.runtime.contextFor('identity', systemActor('test'));
    const inWard = await ctx.call<{ id: string }>('identity', 'createEmployee', { tenantId: CITY, username: 'gro1', name: 'GRO one', password: 'Secret2025pass!x', mobile: '9876500101', roles: [{ role: 'GRO', tenant: 'in.ka' }] });
    await ctx.call<{ id: string }>('identity', 'createEmployee', { tenantId: CITY, username: 'gro2', name: 'GRO two', password: 'Secret2025pass!x', mobile: '9876500102', roles: [{ role: 'GRO', tenant: 'in.ka' }] });
    const admin = await t.as({ kind: 'system', permissions: ['*'] });
    for (const [path, payload] of [
      ['/departments', { tenantId: CITY, code: 'PGR', name: 'Grievances' }],
      ['/designations', { tenantId: CITY, code: 'GRO', name: 'Grievance officer' }],
      [`/employees/${inWard.id}/assignments`, { department: 'PGR', designation: 'GRO', jurisdiction: ['W12'], from: '2020-01-01' }],
    ] as const) {
      const res = await t.runtime.http.inject({ method: 'POST', url: `/api/identity/v1${path}`, headers: admin, payload });
      expect(res.statusCode, res.body).toBe(201);
    }
    const search = (headers: Record<string, string>, payload: object) => t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/contacts/search', headers, payload });
    const reader = await t.as({ tenantId: 'in.ka', permissions: ['identity.contact.read'] });
    const all = (await search(reader, { tenant: CITY, role: 'GRO' })).json().items;
    expect(all.map((c: any) => c.mobile).sort()).toEqual(['9876500101', '9876500102']);
    const ward = (await search(reader, { tenant: CITY, role: 'GRO', boundary: 'W12' })).json().items;
    expect(ward).toMatchObject([{ id: inWard.id, mobile: '9876500101', kind: 'employee' }]);
    expect((await search(reader, { tenant: CITY, userIds: [inWard.id] })).json().items).toHaveLength(1);
    // Not both, not neither; not another state's users; not without the permission.
    expect((await search(reader, { tenant: CITY })).json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'body.userIds' }] });
    expect((await search(reader, { tenant: 'in.tn', role: 'GRO' })).statusCode).toBe(403);
    expect((await search(await t.as({ tenantId: 'in.ka', permissions: ['identity.user.read'] }), { tenant: CITY, role: 'GRO' })).statusCode).toBe(403);
  });
});
