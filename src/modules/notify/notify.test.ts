import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule, systemActor, type SevaEvent } from '../../kernel/index.js';
import { startSmsProvider, startSmtpServer } from '../../../test/support/notify-providers.js';
import { eventually, startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { notifyModuleWith } from './index.js';
import { sign } from './receipts.js';
import { messagesForEvent } from './subscriptions.js';

/** A stand-in service module: it only announces applications, as a real service module will. */
const appsModule = defineModule({ name: 'apps', events: { publishes: ['apps.application.submitted'] } });
const EVENT = 'apps.application.submitted';
const CITY = 'in.ka.bengaluru';
const SECRET = 'receipt-secret-0123456789abcdef';

let t: TestRuntime;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let sms: Awaited<ReturnType<typeof startSmsProvider>>;
let admin: Record<string, string>;
const users: Record<string, string> = {};

const inject = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) =>
  t.runtime.http.inject({ method, url: `/api/notify/v1${url}`, headers, ...(payload ? { payload } : {}) });

async function newUser(username: string, contact: { email?: string; mobile?: string }, locale?: string, roles: Array<{ role: string; tenant: string }> = []): Promise<string> {
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  const created = await ctx.call<{ id: string }>('identity', 'createEmployee', { tenantId: CITY, username, name: username, password: 'Secret2025pass!x', roles, ...contact });
  if (locale) {
    const res = await t.runtime.http.inject({ method: 'PATCH', url: `/api/identity/v1/employees/${created.id}`, headers: await t.as({ kind: 'system', permissions: ['*'] }), payload: { version: 1, locale } });
    expect(res.statusCode, res.body).toBe(200);
  }
  return created.id;
}

async function emit(payload: Record<string, unknown>): Promise<string> {
  const ctx = t.runtime.contextFor('apps', systemActor('test', CITY));
  return ctx.transaction((tx) => tx.emit({ name: EVENT, tenantId: CITY, payload }));
}

const messagesOf = async (query: string) => (await inject('GET', `/messages?tenant=in&limit=200&${query}`, admin)).json().items as any[];

beforeAll(async () => {
  [smtp, sms] = await Promise.all([startSmtpServer(), startSmsProvider()]);
  t = await startTestRuntime([identityModule, appsModule, notifyModuleWith({ retryBaseMs: 300, maxRetryDelayMs: 1000, events: [EVENT] })], {
    smtpHost: '127.0.0.1',
    smtpPort: smtp.port,
    smtpFrom: 'Seva <no-reply@seva.test>',
    smsProviderUrl: sms.url,
    smsProviderKey: 'sms-key-1',
    smsWebhookSecret: SECRET,
    smsRate: 500,
    smtpRate: 500,
  });
  const ctx = t.runtime.contextFor('identity', systemActor('test'));
  for (const [code, name] of [['in', 'India'], ['in.ka', 'Karnataka'], [CITY, 'Bengaluru']]) await ctx.call('identity', 'createTenant', { code: code!, name: name! });
  await ctx.call('identity', 'createRole', { tenantId: 'in.ka', code: 'GRO', name: 'Grievance officer', permissions: ['identity.session.logout'] });
  admin = await t.as({ tenantId: 'in', permissions: ['notify.*', 'identity.contact.read'] });
  users.asha = await newUser('asha', { email: 'asha@example.org', mobile: '9876500011' }, 'hi-IN');
  users.ravi = await newUser('ravi', { email: 'ravi@example.org', mobile: '9876500012' });
  users.gro = await newUser('gro', { mobile: '9876500013' }, undefined, [{ role: 'GRO', tenant: 'in.ka' }]);
  const templates = [
    { tenantId: 'in', code: 'application.submitted', channel: 'email', locale: 'en', subject: 'Application {{applicationNo}} received', body: 'Your application {{applicationNo}} for {{service}} was received.', html: '<p>Application <b>{{applicationNo}}</b> for {{service}}</p>' },
    { tenantId: 'in', code: 'application.submitted', channel: 'email', locale: 'hi', subject: 'आवेदन {{applicationNo}} प्राप्त हुआ', body: '{{service}} के लिए आपका आवेदन {{applicationNo}} प्राप्त हुआ।', html: '<p>आवेदन <b>{{applicationNo}}</b>: {{service}}</p>' },
    { tenantId: 'in', code: 'application.submitted', channel: 'inapp', locale: 'en', subject: 'Application received', body: 'Application {{applicationNo}} received.' },
    { tenantId: 'in', code: 'application.submitted', channel: 'sms', locale: 'en', body: 'Application {{applicationNo}} received.' },
    { tenantId: CITY, code: 'application.submitted', channel: 'sms', locale: 'en', body: 'BBMP: application {{applicationNo}} received.', category: 'status' },
    { tenantId: 'in', code: 'status.update', channel: 'sms', locale: 'en', body: 'Status of {{applicationNo}}: {{status}}', category: 'status' },
  ];
  for (const tpl of templates) {
    const res = await inject('PUT', '/templates', admin, tpl);
    expect(res.statusCode, res.body).toBe(200);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  await Promise.all([smtp?.close(), sms?.close()]);
});

describe('templates', () => {
  it('fall back by locale (hi-IN → hi → en) and by tenant (city → state → country), and report SMS encoding', async () => {
    const render = (body: object) => inject('POST', '/templates/render', admin, { code: 'application.submitted', values: { applicationNo: 'TL-1', service: 'ट्रेड लाइसेंस' }, ...body });
    const hindi = (await render({ tenant: CITY, channel: 'email', locale: 'hi-IN' })).json();
    expect(hindi).toMatchObject({ tenantId: 'in', locale: 'hi', subject: 'आवेदन TL-1 प्राप्त हुआ' });
    const city = (await render({ tenant: CITY, channel: 'sms', locale: 'kn-IN' })).json();
    expect(city).toMatchObject({ tenantId: CITY, locale: 'en', body: 'BBMP: application TL-1 received.', sms: { encoding: 'GSM-7', segments: 1 } });
    const state = (await render({ tenant: 'in.ka.mysuru', channel: 'sms', locale: 'en' })).json();
    expect(state).toMatchObject({ tenantId: 'in', body: 'Application TL-1 received.' });
  });

  it('names missing variables and malformed placeholders; escapes values in HTML', async () => {
    const missing = await inject('POST', '/templates/render', admin, { tenant: CITY, code: 'application.submitted', channel: 'email', locale: 'en', values: { service: 'x' } });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'NOTIFY_TEMPLATE_VARIABLES_MISSING', errors: [{ path: 'body.values.applicationNo' }] });
    const bad = await inject('PUT', '/templates', admin, { tenantId: 'in', code: 'x.y', channel: 'sms', locale: 'en', body: 'Hello {{name' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'NOTIFY_TEMPLATE_INVALID', errors: [{ path: 'body.body' }] });
    const noSubject = await inject('PUT', '/templates', admin, { tenantId: 'in', code: 'x.y', channel: 'email', locale: 'en', body: 'Hi' });
    expect(noSubject.json()).toMatchObject({ code: 'NOTIFY_TEMPLATE_INVALID', errors: [{ path: 'body.subject' }] });
    const badLocale = await inject('PUT', '/templates', admin, { tenantId: 'in', code: 'x.y', channel: 'sms', locale: 'not a locale', body: 'Hi' });
    expect(badLocale.statusCode).toBe(400);
    expect(badLocale.json().errors[0].path).toBe('body.locale');
    const html = (await inject('POST', '/templates/render', admin, { tenant: CITY, code: 'application.submitted', channel: 'email', locale: 'en', values: { applicationNo: '<script>x</script>', service: 'A & B' } })).json();
    expect(html.html).toBe('<p>Application <b>&lt;script&gt;x&lt;/script&gt;</b> for A &amp; B</p>');
    expect(html.body).toContain('<script>x</script>');
  });
});

describe('events to messages', () => {
  let eventId: string;

  it('sends the applicant an e-mail in their locale, received by the SMTP server, and an in-app notification', async () => {
    const sub = await inject('POST', '/subscriptions', admin, { tenantId: 'in', event: EVENT, template: 'application.submitted', audience: { kind: 'applicant' }, channels: ['email', 'inapp'] });
    expect(sub.statusCode, sub.body).toBe(201);
    const unknown = await inject('POST', '/subscriptions', admin, { tenantId: 'in', event: 'apps.nothing.happened', template: 'application.submitted', audience: { kind: 'applicant' }, channels: ['sms'] });
    expect(unknown.json()).toMatchObject({ code: 'NOTIFY_EVENT_NOT_SUBSCRIBABLE', errors: [{ path: 'body.event' }] });

    eventId = await emit({ applicantId: users.asha, applicationNo: 'TL-2026-0001', service: 'व्यापार लाइसेंस' });
    const mail = await eventually(async () => smtp.received.find((m) => m.subject?.includes('TL-2026-0001')), 'the e-mail at the SMTP server');
    expect((mail.to as { text: string }).text).toBe('asha@example.org');
    expect(mail.subject).toBe('आवेदन TL-2026-0001 प्राप्त हुआ');
    expect(mail.text?.trim()).toBe('व्यापार लाइसेंस के लिए आपका आवेदन TL-2026-0001 प्राप्त हुआ।');
    expect(mail.html).toContain('<b>TL-2026-0001</b>');
    expect(mail.from?.text).toContain('no-reply@seva.test');

    const sent = await eventually(async () => (await messagesOf('channel=email')).find((m) => m.status === 'sent' && m.template === 'application.submitted'), 'status sent');
    expect(sent).toMatchObject({ provider: 'smtp', locale: 'hi', recipientMasked: 'a***@example.org', attempts: 1 });
    expect(sent.providerMessageId).toBe(`<${sent.id}@seva>`);

    const asha = await t.as({ id: users.asha, tenantId: CITY, permissions: ['notify.inbox.use'] });
    const inbox = (await inject('GET', '/inbox', asha)).json();
    expect(inbox).toMatchObject({ unread: 1, items: [{ title: 'Application received', body: 'Application TL-2026-0001 received.', readAt: null }] });
    expect((await inject('POST', `/inbox/${inbox.items[0].id}/read`, asha)).statusCode).toBe(200);
    expect((await inject('GET', '/inbox', asha)).json().unread).toBe(0);
    const ravi = await t.as({ id: users.ravi, tenantId: CITY, permissions: ['notify.inbox.use'] });
    expect((await inject('GET', '/inbox', ravi)).json().items).toEqual([]);
    expect((await inject('POST', `/inbox/${inbox.items[0].id}/read`, ravi)).statusCode).toBe(404);
  });

  it('sends one message when the same event is delivered twice', async () => {
    const row = await t.runtime.database.db.selectFrom('kernel.outbox' as any).selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
    const event: SevaEvent = { id: row.id, name: row.name, tenantId: row.tenant_id, payload: row.payload, actorId: row.actor_id, requestId: row.request_id, occurredAt: new Date(row.occurred_at ?? Date.now()).toISOString() };
    // The consumer's own work, run again for the same event (a redelivery): nothing new is queued.
    const again = await t.runtime.contextFor('notify', systemActor('test', CITY)).transaction(() => messagesForEvent(t.runtime.contextFor('notify', systemActor('test', CITY)), event));
    expect(again).toBe(0);
    const rows = await t.runtime.database.db.selectFrom('notify.messages' as any).select(['channel']).where('event_id', '=', eventId).execute();
    expect(rows.map((r: any) => r.channel).sort()).toEqual(['email', 'inapp']);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.received.filter((m) => m.subject?.includes('TL-2026-0001'))).toHaveLength(1);
  });

  it('reaches the holders of a role through identity', async () => {
    const sub = await inject('POST', '/subscriptions', admin, { tenantId: 'in.ka', event: EVENT, template: 'status.update', audience: { kind: 'role', role: 'GRO' }, channels: ['sms'] });
    expect(sub.statusCode, sub.body).toBe(201);
    await emit({ applicantId: users.ravi, applicationNo: 'PGR-7', service: 'grievance', status: 'assigned' });
    const got = await eventually(async () => sms.accepted.find((r) => r.body.text === 'Status of PGR-7: assigned'), 'the SMS to the GRO');
    expect(got.body.to).toBe('9876500013');
    // Disabled at the city, the state's subscription is silenced there.
    const off = await inject('PATCH', `/subscriptions/${sub.json().id}`, admin, { version: 1, status: 'disabled' });
    expect(off.json()).toMatchObject({ status: 'disabled', version: 2 });
    const stale = await inject('PATCH', `/subscriptions/${sub.json().id}`, admin, { version: 1, status: 'active' });
    expect(stale.statusCode).toBe(409);
  });
});

describe('preferences', () => {
  it('honours an opt-out, and still sends a mandatory message', async () => {
    const ravi = await t.as({ id: users.ravi, tenantId: CITY, permissions: ['notify.preference.manage'] });
    const set = await inject('PUT', '/preferences', ravi, { channel: 'sms', category: 'status', optOut: true });
    expect(set.statusCode, set.body).toBe(200);
    expect((await inject('GET', '/preferences', ravi)).json().items).toMatchObject([{ channel: 'sms', category: 'status', optOut: true }]);
    const send = (mandatory: boolean, applicationNo: string) =>
      inject('POST', '/messages', admin, { tenantId: CITY, channel: 'sms', template: 'status.update', recipients: [{ userId: users.ravi }], values: { applicationNo, status: 'approved' }, mandatory });
    const optional = await send(false, 'OPT-1');
    expect(optional.statusCode, optional.body).toBe(202);
    expect(optional.json().messages).toMatchObject([{ status: 'suppressed', encoding: 'GSM-7', segments: 1 }]);
    const mandatory = await send(true, 'MAND-1');
    expect(mandatory.json().messages).toMatchObject([{ status: 'queued' }]);
    await eventually(async () => sms.accepted.find((r) => r.body.text === 'Status of MAND-1: approved'), 'the mandatory SMS');
    await new Promise((r) => setTimeout(r, 300));
    expect(sms.accepted.find((r) => r.body.text.includes('OPT-1'))).toBeUndefined();
    // Another category is not covered by the opt-out.
    const other = await inject('POST', '/messages', admin, { tenantId: CITY, channel: 'sms', body: 'Payment received', category: 'payment', recipients: [{ userId: users.ravi }] });
    expect(other.json().messages).toMatchObject([{ status: 'queued' }]);
  });
});

describe('SMS delivery', () => {
  it('survives a provider outage: every message is delivered exactly once after recovery', async () => {
    sms.down = true;
    const before = sms.accepted.length;
    const recipients = Array.from({ length: 30 }, (_, i) => ({ address: `+9198765${String(10000 + i)}`, values: { applicationNo: `OUT-${i}` } }));
    const res = await inject('POST', '/messages', admin, { tenantId: CITY, channel: 'sms', template: 'status.update', values: { status: 'received' }, recipients });
    expect(res.statusCode, res.body).toBe(202);
    const ids: string[] = res.json().messages.map((m: any) => m.id);
    await eventually(async () => sms.refused >= 60 || undefined, 'two failed rounds during the outage');
    const during = await inject('GET', `/messages/${ids[0]}`, admin);
    expect(during.json()).toMatchObject({ status: 'queued', lastError: 'sms provider answered 503' });
    expect(during.json().attempts).toBeGreaterThanOrEqual(1);
    sms.down = false;
    await eventually(async () => {
      const all = await Promise.all(ids.map(async (id) => (await inject('GET', `/messages/${id}`, admin)).json()));
      return all.every((m) => m.status === 'sent') || undefined;
    }, 'every message sent after recovery', 30_000);
    const got = sms.accepted.slice(before).filter((r) => r.body.text.startsWith('Status of OUT-'));
    expect(got).toHaveLength(30);
    expect(new Set(got.map((r) => r.body.reference))).toEqual(new Set(ids));
    expect(got.every((r) => r.apiKey === 'sms-key-1' && r.idempotencyKey === r.body.reference)).toBe(true);
  });

  it('applies signed delivery receipts once and refuses forged or replayed ones', async () => {
    const msg = (await messagesOf('channel=sms&status=sent'))[0];
    const receipt = JSON.stringify({ id: msg.providerMessageId, status: 'delivered' });
    const now = String(Math.floor(Date.now() / 1000));
    const post = (body: string, headers: Record<string, string>) => t.runtime.http.inject({ method: 'POST', url: '/api/notify/v1/sms/receipts', headers: { 'content-type': 'application/json', ...headers }, payload: body });
    const forged = await post(receipt, { 'x-seva-timestamp': now, 'x-seva-signature': sign('wrong-secret-0123456789', now, receipt) });
    expect(forged.statusCode).toBe(401);
    expect(forged.json().code).toBe('NOTIFY_RECEIPT_UNAUTHENTICATED');
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    expect((await post(receipt, { 'x-seva-timestamp': old, 'x-seva-signature': sign(SECRET, old, receipt) })).statusCode).toBe(401);
    const headers = { 'x-seva-timestamp': now, 'x-seva-signature': sign(SECRET, now, receipt) };
    const ok = await post(receipt, headers);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ id: msg.id, status: 'delivered' });
    expect((await inject('GET', `/messages/${msg.id}`, admin)).json()).toMatchObject({ status: 'delivered' });
    const replay = await post(receipt, headers);
    expect(replay.statusCode).toBe(409);
    expect(replay.json().code).toBe('NOTIFY_RECEIPT_REPLAYED');
    const badBody = JSON.stringify({ id: 'x', status: 'maybe' });
    const invalid = await post(badBody, { 'x-seva-timestamp': now, 'x-seva-signature': sign(SECRET, now, badBody) });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().errors[0].path).toBe('body.status');
  });

  it('validates recipients and names the field', async () => {
    const bad = await inject('POST', '/messages', admin, { tenantId: CITY, channel: 'sms', body: 'x', recipients: [{ address: '+919876500001' }, { address: 'not-a-number' }] });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'NOTIFY_RECIPIENT_INVALID', errors: [{ path: 'body.recipients.1.address' }] });
    const none = await inject('POST', '/messages', admin, { tenantId: CITY, channel: 'email', subject: 's', body: 'x', recipients: [] });
    expect(none.statusCode).toBe(400);
    expect(none.json().errors[0].path).toBe('body.recipients');
    const elsewhere = await inject('POST', '/messages', await t.as({ tenantId: 'in.tn', permissions: ['notify.*'] }), { tenantId: CITY, channel: 'sms', body: 'x', recipients: [{ address: '+919876500001' }] });
    expect(elsewhere.statusCode).toBe(403);
  });
});

describe('GovStack Messaging adapter', () => {
  it('sends single and batch e-mails and reports their status', async () => {
    const single = await inject('POST', '/govstack/send/email/single', admin, {
      tenantId: CITY,
      senderInfo: { organisationName: 'BBMP' },
      recipientInfo: { email: 'citizen@example.org', name: 'A Citizen' },
      emailContent: { encoding: 'UTF-8', title: 'GovStack hello', content: 'Hello from the building block' },
    });
    expect(single.statusCode, single.body).toBe(200);
    const { requestUid } = single.json();
    await eventually(async () => smtp.received.find((m) => m.subject === 'GovStack hello'), 'the single e-mail');
    const status = await eventually(async () => {
      const s = (await inject('GET', `/govstack/status/email?tenantId=${CITY}&requestUid=${requestUid}&status=delivered,bounced`, admin)).json();
      return s.delivered === 1 ? s : undefined;
    }, 'status delivered');
    expect(status).toEqual({ delivered: 1, bounced: 0 });

    const list = [{ recipientInfo: { email: 'one@example.org' } }, { recipientInfo: { email: 'two@example.org', emailCC: 'cc@example.org' } }];
    const batch = await inject('POST', '/govstack/send/email/batch', admin, {
      tenantId: CITY,
      recipientInfo: { batchEmailAsBase64: Buffer.from(JSON.stringify(list)).toString('base64') },
      emailContent: { title: 'GovStack batch', content: 'Batch body' },
    });
    expect(batch.statusCode, batch.body).toBe(200);
    await eventually(async () => smtp.received.filter((m) => m.subject === 'GovStack batch').length === 3 || undefined, 'three batch e-mails');

    const broken = await inject('POST', '/govstack/send/email/batch', admin, {
      tenantId: CITY,
      recipientInfo: { batchEmailAsBase64: Buffer.from(JSON.stringify([{ recipientInfo: { email: 'ok@example.org' } }, { recipientInfo: { email: 'nope' } }])).toString('base64') },
      emailContent: { title: 't', content: 'c' },
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ code: 'NOTIFY_BATCH_INVALID', errors: [{ path: 'body.recipientInfo.batchEmailAsBase64.1.recipientInfo.email' }] });
    const noTitle = await inject('POST', '/govstack/send/email/single', admin, { tenantId: CITY, recipientInfo: { email: 'a@example.org' }, emailContent: { content: 'c' } });
    expect(noTitle.statusCode).toBe(400);
    expect(noTitle.json().errors[0].path).toBe('body.emailContent.title');

    const callback = await inject('POST', '/govstack/callback/email', admin, { tenantId: CITY, requestUid, meta: 'reply', content: Buffer.from('thanks').toString('base64') });
    expect(callback.statusCode, callback.body).toBe(200);
    expect((await inject('POST', '/govstack/callback/email', admin, { tenantId: CITY, requestUid: 'req_unknown' })).statusCode).toBe(404);
  });
});
