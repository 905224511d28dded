import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor, type OperationContext } from '../../kernel/index.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { referenceModuleWith } from '../reference/index.js';
import { GRIEVANCE, HOLIDAY_DEFINITION, TRADE_LICENCE } from './demo-definitions.js';
import { workflowModuleWith } from './index.js';
import { HOLIDAY_SCHEMA } from './lookups.js';

const API = '/api/workflow/v1';
const CITY = 'in.ka.bengaluru';
const DAY = 86_400_000;
// Thursday 22 January 2026. Friday 23rd is a Bengaluru holiday, Monday 26th a national one.
let now = new Date('2026-01-22T10:00:00Z');
const advance = (ms: number) => (now = new Date(now.getTime() + ms));

let t: TestRuntime;
let sys: OperationContext;
const ids: Record<string, string> = {};
const headers: Record<string, Record<string, string>> = {};
const ACT = ['workflow.definition.read', 'workflow.process.read', 'workflow.transition', 'workflow.process.claim', 'workflow.inbox.read', 'workflow.process.start'];

const inject = (options: InjectOptions) => t.runtime.http.inject(options);
const post = (who: string, url: string, payload: object) => inject({ method: 'POST', url: `${API}${url}`, headers: headers[who]!, payload });
const get = (who: string, url: string) => inject({ url: `${API}${url}`, headers: headers[who]! });

async function start(who: string, service: string, businessId: string, boundary: string, record: object = {}) {
  const res = await post(who, '/processes', { tenantId: CITY, service, businessId, boundary, record });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
async function act(who: string, id: string, action: string, extra: object = {}) {
  const current = (await get('admin', `/processes/${id}`)).json();
  return post(who, `/processes/${id}/actions`, { action, version: current.version, ...extra });
}

beforeAll(async () => {
  t = await startTestRuntime([identityModule, referenceModuleWith(), workflowModuleWith({ clock: () => now, scheduledSweep: false })]);
  sys = t.runtime.contextFor('identity', systemActor('test'));
  for (const [code, name] of [['in', 'India'], ['in.ka', 'Karnataka'], [CITY, 'Bengaluru'], ['in.ka.mysuru', 'Mysuru']]) await sys.call('identity', 'createTenant', { code, name });
  for (const role of ['COUNTER_EMPLOYEE', 'FIELD_INSPECTOR', 'APPROVER', 'GRO', 'CITIZEN']) {
    const extra = role === 'APPROVER' || role === 'GRO' ? ['workflow.process.reassign', 'workflow.sla.read'] : [];
    await sys.call('identity', 'createRole', { tenantId: 'in', code: role, name: role, permissions: [...ACT, ...extra] });
  }
  await sys.call('identity', 'createDepartment', { tenantId: 'in', code: 'REV', name: 'Revenue' });
  for (const code of ['CLERK', 'INSPECTOR', 'SUPERINTENDENT']) await sys.call('identity', 'createDesignation', { tenantId: 'in', code, name: code });
  const staff: Array<[string, string, string, string[], string]> = [
    ['clerkA', 'COUNTER_EMPLOYEE', 'CLERK', ['BLR.W001'], CITY],
    ['clerkB', 'COUNTER_EMPLOYEE', 'CLERK', ['BLR.W001'], CITY],
    ['clerkC', 'COUNTER_EMPLOYEE', 'CLERK', ['BLR.W002'], CITY],
    ['inspector', 'FIELD_INSPECTOR', 'INSPECTOR', [CITY], CITY],
    ['approver', 'APPROVER', 'CLERK', ['BLR'], CITY],
    ['gro', 'GRO', 'CLERK', ['BLR.W002'], CITY],
    ['supt', 'CITIZEN', 'SUPERINTENDENT', ['BLR'], CITY],
    ['mysuru', 'COUNTER_EMPLOYEE', 'CLERK', ['in.ka.mysuru'], 'in.ka.mysuru'],
  ];
  for (const [username, role, designation, jurisdiction, tenant] of staff) {
    const e = await sys.call<{ id: string }>('identity', 'createEmployee', { tenantId: tenant, username: username.toLowerCase(), name: username, password: 'Secret2025pass', roles: [{ role, tenant }] });
    ids[username] = e.id;
    await sys.call('identity', 'assignEmployee', { id: e.id, department: 'REV', designation, jurisdiction, from: '2026-01-01' });
    headers[username] = await t.as({ id: e.id, tenantId: tenant, roles: [role], permissions: [...ACT, ...(role === 'APPROVER' || role === 'GRO' ? ['workflow.process.reassign', 'workflow.sla.read'] : [])] });
  }
  headers.citizen = await t.as({ id: 'usr_citizen', tenantId: CITY, roles: ['CITIZEN'], permissions: ACT });
  headers.admin = await t.as({ id: 'usr_admin', tenantId: 'in', roles: ['ADMIN'], permissions: ['workflow.*'] });

  const ref = t.runtime.contextFor('reference', systemActor('test'));
  await ref.call('reference', 'createHierarchy', { tenantId: 'in.ka', code: 'ADMIN', name: 'Administrative', levels: ['state', 'city', 'ward'] });
  await ref.call('reference', 'createBoundary', { tenantId: 'in.ka', hierarchy: 'ADMIN', code: 'KA', level: 'state', names: { en: 'Karnataka' } });
  await ref.call('reference', 'createBoundary', { tenantId: 'in.ka', hierarchy: 'ADMIN', code: 'BLR', level: 'city', parent: 'KA', names: { en: 'Bengaluru' } });
  for (const ward of ['BLR.W001', 'BLR.W002']) await ref.call('reference', 'createBoundary', { tenantId: CITY, hierarchy: 'ADMIN', code: ward, level: 'ward', parent: 'BLR', names: { en: ward } });
  await ref.call('reference', 'defineSchema', { tenantId: 'in', code: HOLIDAY_SCHEMA, definition: HOLIDAY_DEFINITION });
  await ref.call('reference', 'createRecord', { tenantId: 'in', schema: HOLIDAY_SCHEMA, key: '2026-01-26', data: { date: '2026-01-26', name: 'Republic Day' } });
  await ref.call('reference', 'createRecord', { tenantId: CITY, schema: HOLIDAY_SCHEMA, key: '2026-01-23', data: { date: '2026-01-23', name: 'City day' } });

  for (const definition of [TRADE_LICENCE, GRIEVANCE]) expect((await post('admin', '/definitions', { tenantId: 'in', definition })).statusCode).toBe(201);
}, 120_000);
afterAll(() => t?.close());

describe('workflow definitions', () => {
  it('refuses a definition with a dead end, unknown and unreachable states, an action with no role and duplicate names, listing each', async () => {
    const definition = {
      code: 'BAD',
      name: 'Broken',
      states: [{ name: 'A', start: true }, { name: 'B' }, { name: 'C' }, { name: 'ISLAND' }, { name: 'DONE', terminal: true }, { name: 'A' }],
      actions: [
        { name: 'GO', from: ['A'], to: 'B', roles: ['CLERK'] },
        { name: 'GO', from: ['A'], to: 'DONE', roles: ['CLERK'] },
        { name: 'NOWHERE', from: ['C'], to: 'MISSING', roles: ['CLERK'] },
        { name: 'NOBODY', from: ['ISLAND'], to: 'DONE', roles: [] },
        { name: 'TEST', from: ['A'], to: 'C', roles: ['CLERK'], guard: { bogus: [1] } },
      ],
    };
    const res = await post('admin', '/definitions', { tenantId: 'in', definition });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    const body = res.json();
    expect(body.code).toBe('WORKFLOW_DEFINITION_INVALID');
    const messages = body.errors.map((e: { path: string; message: string }) => `${e.path}: ${e.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'body.definition.states.1: state B is a dead end: not terminal and no action leaves it',
        'body.definition.states.5.name: duplicate state name A',
        'body.definition.actions.1.name: duplicate action name GO',
        'body.definition.actions.2.to: unknown state MISSING',
        'body.definition.actions.3.roles: action NOBODY has no role that may take it',
        'body.definition.states.3: state ISLAND cannot be reached from the start state',
        'body.definition.actions.4.guard: unknown operator "bogus"',
      ]),
    );
    expect((await get('admin', `/definitions/BAD?tenant=in`)).statusCode).toBe(404);
    const check = await post('admin', '/definitions/validate', { tenantId: 'in', definition: TRADE_LICENCE });
    expect(check.json()).toEqual({ valid: true, errors: [] });
  });

  it('versions definitions per tenant and falls back to the parent tenant', async () => {
    const city = await post('admin', '/definitions', { tenantId: 'in.ka', definition: { ...GRIEVANCE, name: 'Grievance (Karnataka)' } });
    expect(city.json()).toMatchObject({ tenantId: 'in.ka', code: 'PGR', version: 1 });
    expect((await get('admin', `/definitions/PGR?tenant=${CITY}`)).json()).toMatchObject({ tenantId: 'in.ka', name: 'Grievance (Karnataka)' });
    expect((await get('admin', `/definitions/PGR?tenant=in.ka.mysuru`)).json()).toMatchObject({ tenantId: 'in.ka' });
    expect((await get('admin', `/definitions/TL?tenant=${CITY}`)).json()).toMatchObject({ tenantId: 'in', version: 1 });
    const again = await post('admin', '/definitions', { tenantId: 'in', definition: TRADE_LICENCE });
    expect(again.json().version).toBe(2);
    expect((await get('admin', `/definitions/TL?tenant=in&version=1`)).json().version).toBe(1);
  });
});

describe('processes', () => {
  it('starts a record, assigns it round-robin within its boundary, and dates the SLA over a weekend and two holidays', async () => {
    const first = await start('clerkA', 'TL', 'TL-1', 'BLR.W001', { tradeType: 'RETAIL.SHOP' });
    const second = await start('clerkA', 'TL', 'TL-2', 'BLR.W001');
    expect(first).toMatchObject({ state: 'APPLIED', status: 'active', version: 1, definition: { code: 'TL', version: 2 } });
    // Only the two clerks of ward 1 are eligible; round-robin gives one record each.
    expect([first.assignee, second.assignee].sort()).toEqual([ids.clerkA, ids.clerkB].sort());
    // P2D from Thursday: Friday (city holiday), the weekend and Monday (national holiday) do not count.
    expect(first.sla).toMatchObject({ status: 'onTrack', stateDueAt: '2026-01-28T10:00:00.000Z', stateRemainingMs: 6 * DAY, escalationLevel: 0 });
    // Whole-process P15D on business days: 22 Jan + 15 working days, skipping both holidays.
    expect(first.sla.processDueAt).toBe('2026-02-16T10:00:00.000Z');
    expect((await post('clerkA', '/processes', { tenantId: CITY, service: 'TL', businessId: 'TL-1', boundary: 'BLR.W001' })).json().code).toBe('WORKFLOW_PROCESS_EXISTS');
    expect((await post('clerkA', '/processes', { tenantId: CITY, service: 'TL', businessId: 'TL-X', boundary: 'NOWHERE' })).json().code).toBe('WORKFLOW_BOUNDARY_UNKNOWN');
  });

  it('refuses an action to a role that may not take it, and one not available in the state', async () => {
    const p = (await get('admin', `/processes?tenant=${CITY}&service=TL&businessId=TL-1`)).json();
    const denied = await act('inspector', p.id, 'VERIFY', { attachments: [{ fileId: 'fil_1', documentType: 'OWNER_ID' }] });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('WORKFLOW_ACTION_NOT_ALLOWED');
    const citizen = await act('citizen', p.id, 'AUTO_CLOSE');
    expect(citizen.json().code).toBe('WORKFLOW_ACTION_UNKNOWN');
    expect((await get('inspector', `/processes/${p.id}`)).json().actions).toEqual([]);
    expect((await get('clerkA', `/processes/${p.id}`)).json().actions).toEqual(['VERIFY', 'SEND_BACK', 'REJECT']);
  });

  it('checks required documents and fields, then guard conditions over the record', async () => {
    const p = (await get('admin', `/processes?tenant=${CITY}&service=TL&businessId=TL-1`)).json();
    const noDoc = await act('clerkA', p.id, 'VERIFY');
    expect(noDoc.statusCode).toBe(422);
    expect(noDoc.json()).toMatchObject({ code: 'WORKFLOW_REQUIREMENTS_MISSING', errors: [{ path: 'body.attachments' }] });
    const verified = await act('clerkA', p.id, 'VERIFY', { comment: 'documents fine', attachments: [{ fileId: 'fil_1', documentType: 'OWNER_ID' }] });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json()).toMatchObject({ state: 'PENDING_INSPECTION', assignee: ids.inspector, version: 2 });
    const noResult = await act('inspector', p.id, 'INSPECT');
    expect(noResult.json()).toMatchObject({ code: 'WORKFLOW_REQUIREMENTS_MISSING', errors: [{ path: 'body.data.inspection.result' }] });
    expect((await act('inspector', p.id, 'INSPECT', { data: { inspection: { result: 'FAIL' } } })).statusCode).toBe(200);
    const approve = await act('approver', p.id, 'APPROVE');
    expect(approve.statusCode).toBe(422);
    expect(approve.json().code).toBe('WORKFLOW_GUARD_FAILED');

    const q = (await get('admin', `/processes?tenant=${CITY}&service=TL&businessId=TL-2`)).json();
    await act('clerkA', q.id, 'VERIFY', { attachments: [{ fileId: 'fil_2', documentType: 'OWNER_ID' }] });
    await act('inspector', q.id, 'INSPECT', { data: { inspection: { result: 'PASS' } } });
    const approved = await act('approver', q.id, 'APPROVE');
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ state: 'PENDING_PAYMENT', record: { inspection: { result: 'PASS' } }, sla: { paused: true, stateDueAt: null } });

    const history = (await get('clerkA', `/processes/${q.id}/history`)).json().items;
    expect(history.map((h: { action: string | null; toState: string }) => [h.action, h.toState])).toEqual([
      [null, 'APPLIED'],
      ['VERIFY', 'PENDING_INSPECTION'],
      ['INSPECT', 'PENDING_APPROVAL'],
      ['APPROVE', 'PENDING_PAYMENT'],
    ]);
    expect(history[1]).toMatchObject({ actorId: ids.clerkA, fromState: 'APPLIED', attachments: [{ fileId: 'fil_2', documentType: 'OWNER_ID' }], stateDueAt: '2026-01-28T10:00:00.000Z' });
    const events = await t.runtime.database.db.selectFrom('kernel.outbox' as any).select(['payload']).where('name', '=', 'workflow.process.transitioned').execute();
    const approveEvent = events.map((e: any) => (typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload)).find((e: any) => e.processId === q.id && e.action === 'APPROVE');
    expect(approveEvent).toMatchObject({ before: { state: 'PENDING_APPROVAL', version: 3 }, after: { state: 'PENDING_PAYMENT', version: 4 } });
    const audits = await t.runtime.database.db.selectFrom('kernel.audit_log' as any).select('action').where('entity_id', '=', q.id).orderBy('seq').execute();
    expect(audits.map((a: any) => a.action)).toEqual(['workflow.process.started', 'workflow.process.transitioned', 'workflow.process.transitioned', 'workflow.process.transitioned']);
  });

  it('lets exactly one of two employees acting at once win; the other gets 409', async () => {
    const p = await start('clerkA', 'TL', 'TL-RACE', 'BLR.W001');
    const payload = { version: p.version, attachments: [{ fileId: 'fil_3', documentType: 'OWNER_ID' }] };
    const [a, b] = await Promise.all([post('clerkA', `/processes/${p.id}/actions`, { action: 'VERIFY', ...payload }), post('clerkB', `/processes/${p.id}/actions`, { action: 'VERIFY', ...payload })]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().code).toBe('CONFLICT');
    const history = (await get('admin', `/processes/${p.id}/history`)).json().items;
    expect(history).toHaveLength(2);
    expect((await get('admin', `/processes/${p.id}`)).json().version).toBe(2);
  });

  it('locks a claimed record against others until it is released or reassigned by a supervisor', async () => {
    const p = await start('clerkA', 'TL', 'TL-CLAIM', 'BLR.W001');
    const claimed = await post('clerkA', `/processes/${p.id}/claim`, {});
    expect(claimed.json()).toMatchObject({ claimedBy: ids.clerkA, assignee: ids.clerkA });
    expect((await post('clerkB', `/processes/${p.id}/claim`, {})).json().code).toBe('WORKFLOW_PROCESS_CLAIMED');
    const blocked = await act('clerkB', p.id, 'REJECT', { data: { rejectionReason: 'x' } });
    expect(blocked.statusCode).toBe(409);
    expect(blocked.json().code).toBe('WORKFLOW_PROCESS_CLAIMED');
    expect((await post('clerkB', `/processes/${p.id}/release`, {})).json().code).toBe('WORKFLOW_NOT_CLAIMED_BY_YOU');
    expect((await post('clerkB', `/processes/${p.id}/reassign`, { assignee: ids.clerkB })).statusCode).toBe(403);
    const reassigned = await post('approver', `/processes/${p.id}/reassign`, { assignee: ids.clerkB });
    expect(reassigned.json()).toMatchObject({ claimedBy: null, assignee: ids.clerkB });
    expect((await act('clerkB', p.id, 'REJECT', { data: { rejectionReason: 'incomplete' } })).json()).toMatchObject({ state: 'REJECTED', status: 'closed' });
  });

  it('answers 404 for another tenant’s process', async () => {
    const p = (await get('admin', `/processes?tenant=${CITY}&service=TL&businessId=TL-1`)).json();
    expect((await get('mysuru', `/processes/${p.id}`)).statusCode).toBe(404);
    expect((await get('mysuru', `/processes/${p.id}/history`)).statusCode).toBe(404);
    expect((await post('mysuru', `/processes/${p.id}/actions`, { action: 'REJECT', version: 1 })).statusCode).toBe(404);
    expect((await post('mysuru', `/processes/${p.id}/claim`, {})).statusCode).toBe(404);
  });
});

describe('SLA timers', () => {
  it('marks a breach, escalates level by level, and emits workflow.sla.breached', async () => {
    const p = await start('gro', 'PGR', 'PGR-1', 'BLR.W002');
    expect(p).toMatchObject({ state: 'FILED', assignee: ids.gro, sla: { stateDueAt: '2026-01-23T10:00:00.000Z' } });
    expect((await post('admin', '/timers/run', {})).json()).toMatchObject({ breached: 0, escalated: 0 });
    advance(DAY + 60_000);
    expect((await post('admin', '/timers/run', {})).json()).toMatchObject({ breached: 1, escalated: 1 });
    const first = (await get('approver', `/processes/${p.id}`)).json();
    // Level 1 is the APPROVER role: the approver, whose jurisdiction (the city) covers ward 2, may now act.
    expect(first).toMatchObject({ assignee: ids.approver, sla: { status: 'breached', escalationLevel: 1, breachedAt: now.toISOString() } });
    expect(first.actions).toContain('ASSIGN');
    advance(DAY);
    expect((await post('admin', '/timers/run', {})).json()).toMatchObject({ breached: 0, escalated: 1 });
    const second = (await get('admin', `/processes/${p.id}`)).json();
    expect(second).toMatchObject({ assignee: ids.supt, sla: { escalationLevel: 2 } });
    advance(DAY);
    expect((await post('admin', '/timers/run', {})).json()).toMatchObject({ escalated: 0 });
    const events = await t.runtime.database.db.selectFrom('kernel.outbox' as any).select('payload').where('name', '=', 'workflow.sla.breached').orderBy('seq').execute();
    const mine = events.map((e: any) => (typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload)).filter((e: any) => e.processId === p.id);
    expect(mine.map((e: any) => [e.scope, e.level, e.escalatedTo?.assignee])).toEqual([
      ['state', 1, ids.approver],
      ['state', 2, ids.supt],
    ]);
    // The designation level acts as the assignee it was escalated to.
    expect((await act('supt', p.id, 'ASSIGN', { assignee: ids.inspector })).json()).toMatchObject({ state: 'ASSIGNED', assignee: ids.inspector });
  });

  it('stops the process clock while waiting on the citizen and closes after the inactivity timer', async () => {
    const p = await start('clerkC', 'TL', 'TL-WAIT', 'BLR.W002');
    expect(p.assignee).toBe(ids.clerkC);
    const waiting = (await act('clerkC', p.id, 'SEND_BACK', { comment: 'upload the rent deed' })).json();
    expect(waiting.sla).toMatchObject({ paused: true, stateDueAt: null });
    const left = waiting.sla.processRemainingMs;
    advance(3 * DAY);
    expect((await get('admin', `/processes/${p.id}`)).json().sla.processRemainingMs).toBe(left);
    advance(13 * DAY);
    expect((await post('admin', '/timers/run', {})).json().automatic).toBe(1);
    const closed = (await get('admin', `/processes/${p.id}`)).json();
    expect(closed).toMatchObject({ state: 'CLOSED', status: 'closed' });
    const history = (await get('admin', `/processes/${p.id}/history`)).json().items;
    expect(history.at(-1)).toMatchObject({ action: 'AUTO_CLOSE', actorId: expect.stringMatching(/^system:/) });
  });

  it('reports SLA figures per state and per process', async () => {
    const res = await get('approver', `/sla/figures?tenant=${CITY}&service=TL&from=2026-01-01T00:00:00Z`);
    expect(res.statusCode, res.body).toBe(200);
    const applied = res.json().states.find((s: { state: string }) => s.state === 'APPLIED');
    expect(applied).toMatchObject({ service: 'TL', withSla: expect.any(Number), breached: 0, compliance: 1 });
    expect(applied.stays).toBeGreaterThanOrEqual(4);
    expect(res.json().processes[0]).toMatchObject({ service: 'TL', closed: 2 });
  });
});

describe('inbox', () => {
  it('lists only records where the employee may act, within jurisdiction, with filters, facets and cursors', async () => {
    now = new Date('2026-03-02T08:00:00Z');
    for (let i = 1; i <= 3; i++) await start('clerkA', 'TL', `TL-IN-${i}`, 'BLR.W001');
    await start('clerkC', 'TL', 'TL-IN-W2', 'BLR.W002');
    const inbox = (await get('clerkA', `/inbox?tenant=${CITY}`)).json();
    const mine = inbox.items.map((i: { businessId: string }) => i.businessId);
    // Ward 2's record is outside clerkA's jurisdiction; records past APPLIED need other roles.
    expect(mine).toEqual(expect.arrayContaining(['TL-IN-1', 'TL-IN-2', 'TL-IN-3']));
    expect(mine).not.toContain('TL-IN-W2');
    expect(mine).not.toContain('TL-1');
    expect(inbox.items.every((i: { state: string }) => i.state === 'APPLIED')).toBe(true);
    const due = inbox.items.map((i: { dueAt: string }) => i.dueAt);
    expect([...due].sort()).toEqual(due);
    expect(inbox.facets.service).toEqual([{ value: 'TL', count: inbox.items.length }]);
    expect(inbox.facets.state).toEqual([{ value: 'APPLIED', count: inbox.items.length }]);

    const breached = (await get('clerkA', `/inbox?tenant=${CITY}&slaStatus=breached`)).json().items;
    // Due Wednesday 08:00, two days from now: due soon.
    const onTrack = (await get('clerkA', `/inbox?tenant=${CITY}&slaStatus=dueSoon`)).json().items;
    expect(onTrack.map((i: { businessId: string }) => i.businessId).sort()).toEqual(['TL-IN-1', 'TL-IN-2', 'TL-IN-3']);
    expect(breached.length + onTrack.length).toBe(inbox.items.length);
    const counts = Object.fromEntries(inbox.facets.slaStatus.map((f: { value: string; count: number }) => [f.value, f.count]));
    expect(counts.dueSoon).toBe(3);
    expect(counts.breached ?? 0).toBe(breached.length);

    const assignedToMe = (await get('clerkA', `/inbox?tenant=${CITY}&assignee=me`)).json().items;
    expect(assignedToMe.length).toBeGreaterThan(0);
    expect(assignedToMe.every((i: { assignee: string }) => i.assignee === ids.clerkA)).toBe(true);
    expect((await get('clerkA', `/inbox?tenant=${CITY}&state=PENDING_APPROVAL`)).json().items).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { items: Array<{ id: string }>; nextCursor: string | null } = (await get('clerkA', `/inbox?tenant=${CITY}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...res.items.map((i) => i.id));
      cursor = res.nextCursor;
    } while (cursor);
    expect(seen).toEqual(inbox.items.map((i: { id: string }) => i.id));
    expect((await get('clerkA', `/inbox?tenant=${CITY}&cursor=bogus`)).statusCode).toBe(400);

    const approverInbox = (await get('approver', `/inbox?tenant=${CITY}`)).json();
    expect(approverInbox.facets.state.map((f: { value: string }) => f.value)).toContain('PENDING_APPROVAL');
    expect(approverInbox.items.map((i: { businessId: string }) => i.businessId)).toContain('TL-1');
    expect((await get('mysuru', `/inbox?tenant=${CITY}`)).statusCode).toBe(403);
  });

  it('finds eligible employees through identity (role or designation, jurisdiction, tenant)', async () => {
    const find = (q: object) => sys.call<{ items: Array<{ id: string }> }>('identity', 'findEligibleEmployees', { tenantId: CITY, ...q });
    expect((await find({ role: 'COUNTER_EMPLOYEE', boundaries: ['BLR.W001', 'BLR', 'KA'] })).items.map((e) => e.id).sort()).toEqual([ids.clerkA, ids.clerkB].sort());
    expect((await find({ role: 'FIELD_INSPECTOR', boundaries: ['BLR.W002'] })).items.map((e) => e.id)).toEqual([ids.inspector]);
    expect((await find({ designation: 'SUPERINTENDENT', boundaries: ['BLR.W002', 'BLR'] })).items.map((e) => e.id)).toEqual([ids.supt]);
    expect((await find({ role: 'COUNTER_EMPLOYEE', boundaries: ['BLR.W001'], on: '2025-12-31' })).items).toEqual([]);
  });
});
