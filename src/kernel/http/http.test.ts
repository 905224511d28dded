import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureModules } from '../../../test/fixtures/modules.js';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';

let t: TestRuntime;
let writer: Record<string, string>;

beforeAll(async () => {
  t = await startTestRuntime(fixtureModules, { bodyLimit: 4096 });
  writer = await t.as({ permissions: ['ping.note.create', 'ping.note.read'], tenantId: 'in' });
});
afterAll(() => t?.close());

const inject = (options: InjectOptions) => t.runtime.http.inject(options);

describe('health, docs and metrics', () => {
  it('answers liveness and readiness with the checks it made', async () => {
    expect((await inject({ url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.database).toBe('ok');
  });

  it('publishes an OpenAPI 3.1 document built from the operations and serves /docs', async () => {
    const doc = (await inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    const record = doc.paths['/api/ping/v1/notes'].post;
    expect(record.operationId).toBe('ping.record');
    expect(record.requestBody.content['application/json'].schema.required).toContain('text');
    expect(doc.paths['/api/ping/v1/notes/{id}'].get.parameters[0]).toMatchObject({ in: 'path', name: 'id' });
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/rpc'))).toBe(false);
    const docs = await inject({ url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    expect(docs.body).toContain('/openapi.json');
    const css = await inject({ url: '/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
    expect((await inject({ url: '/docs/static/package.json' })).statusCode).toBe(404);
    expect((await inject({ url: '/docs/static/..%2Fpackage.json' })).statusCode).toBe(404);
  });

  it('counts requests in Prometheus text format', async () => {
    await inject({ url: '/health/live' });
    const metrics = await inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toMatch(/seva_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} [1-9]\d*/);
    expect(metrics.body).toContain('seva_events_published_total');
  });

  it('keeps a sane caller request id and makes one otherwise', async () => {
    expect((await inject({ url: '/health/live', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id']).toBe('abc-123');
    const made = (await inject({ url: '/health/live', headers: { 'x-request-id': 'bad id with spaces' } })).headers['x-request-id'];
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('problem details for bad input', () => {
  const problem = (res: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, code: string) => {
    expect(res.statusCode).toBe(status);
    expect(String(res.headers['content-type'])).toContain('application/problem+json');
    const body = res.json();
    expect(body).toMatchObject({ status, code });
    expect(body.detail).toBeTruthy();
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    return body;
  };

  it('names the invalid field', async () => {
    const body = problem(await inject({ method: 'POST', url: '/api/ping/v1/notes', headers: writer, payload: { text: '' } }), 400, 'VALIDATION_FAILED');
    expect(body.errors).toEqual([expect.objectContaining({ path: 'body.text' })]);
  });

  it('refuses malformed JSON, an empty JSON body and a foreign content type', async () => {
    const headers = { ...writer, 'content-type': 'application/json' };
    problem(await inject({ method: 'POST', url: '/api/ping/v1/notes', headers, payload: '{"text": ' }), 400, 'MALFORMED_BODY');
    problem(await inject({ method: 'POST', url: '/api/ping/v1/notes', headers, payload: '' }), 400, 'MALFORMED_BODY');
    problem(await inject({ method: 'POST', url: '/api/ping/v1/notes', headers: { ...writer, 'content-type': 'application/xml' }, payload: '<a/>' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a body over the limit', async () => {
    const res = await inject({ method: 'POST', url: '/api/ping/v1/notes', headers: writer, payload: { text: 'x'.repeat(10_000) } });
    problem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes and missing records with 404 problems', async () => {
    problem(await inject({ url: '/api/nope/v1/x' }), 404, 'NOT_FOUND');
    problem(await inject({ url: '/api/ping/v1/notes/note_missing', headers: writer }), 404, 'NOT_FOUND');
  });
});

describe('deny by default', () => {
  it('asks for sign-in when no actor is given, and for the permission when it is missing', async () => {
    const anonymous = await inject({ method: 'POST', url: '/api/ping/v1/notes', payload: { text: 'hello' } });
    expect(anonymous.statusCode).toBe(401);
    const reader = await t.as({ permissions: ['ping.note.read'] });
    const denied = await inject({ method: 'POST', url: '/api/ping/v1/notes', headers: reader, payload: { text: 'hello' } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'ping.note.create' });
  });

  it('refuses a forged or unknown token', async () => {
    const forged = await inject({ method: 'POST', url: '/api/ping/v1/notes', headers: { 'x-seva-actor': 'eyJhbGciOiJIUzI1NiJ9.e30.x' }, payload: { text: 'x' } });
    expect(forged.statusCode).toBe(401);
    const bearer = await inject({ url: '/api/ping/v1/notes/x', headers: { authorization: 'Bearer nonsense' } });
    expect(bearer.statusCode).toBe(401);
  });

  it('lets a holder of the permission write, and reads it back', async () => {
    const created = await inject({ method: 'POST', url: '/api/ping/v1/notes', headers: writer, payload: { text: 'hello' } });
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    const read = await inject({ url: `/api/ping/v1/notes/${id}`, headers: writer });
    expect(read.json()).toEqual({ id, text: 'hello' });
  });

  it('serves internal RPC only to verified internal tokens', async () => {
    expect((await inject({ method: 'POST', url: '/rpc/ping/count', payload: {} })).statusCode).toBe(401);
    const ok = await inject({ method: 'POST', url: '/rpc/ping/count', headers: writer, payload: {} });
    expect(ok.statusCode).toBe(200);
    expect(typeof ok.json().count).toBe('number');
    for (const url of ['/rpc/ping/nothing', '/rpc/elsewhere/count']) {
      const missing = await inject({ method: 'POST', url, headers: writer, payload: {} });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-type']).toContain('application/problem+json');
    }
  });
});

describe('Idempotency-Key', () => {
  const post = (key: string | undefined, text: string) =>
    inject({ method: 'POST', url: '/api/ping/v1/notes', headers: { ...writer, ...(key ? { 'idempotency-key': key } : {}) }, payload: { text } });
  const notesWith = async (text: string) =>
    (await t.runtime.database.db.selectFrom('ping.notes').select('id').where('text', '=', text).execute()).length;

  it('replays the first answer to a retried write and writes once', async () => {
    const first = await post('retry-key-0001', 'idem once');
    const second = await post('retry-key-0001', 'idem once');
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await notesWith('idem once')).toBe(1);
  });

  it('writes once when the same request arrives twice at the same time', async () => {
    const [a, b] = await Promise.all([post('race-key-0001', 'idem race'), post('race-key-0001', 'idem race')]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).toBe(b.json().id);
    expect(await notesWith('idem race')).toBe(1);
  });

  it('refuses the same key for a different request, and a malformed key', async () => {
    await post('reuse-key-0001', 'idem first');
    const reused = await post('reuse-key-0001', 'idem second');
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await notesWith('idem second')).toBe(0);
    const bad = await post('short', 'idem bad key');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('headers.idempotency-key');
  });

  it('keeps no key for a write that failed, so the client can retry it', async () => {
    const failed = await post('fail-key-0001', 'refuse idem');
    expect(failed.statusCode).toBe(422);
    expect(await notesWith('refuse idem')).toBe(0);
    const again = await post('fail-key-0001', 'refuse idem');
    expect(again.statusCode).toBe(422);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    const stored = await t.runtime.database.db.selectFrom('kernel.idempotency_keys').selectAll().where('key', '=', 'fail-key-0001').execute();
    expect(stored).toHaveLength(0);
  });

  it('writes every time without a key', async () => {
    await post(undefined, 'idem none');
    await post(undefined, 'idem none');
    expect(await notesWith('idem none')).toBe(2);
  });
});
