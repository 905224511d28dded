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
  });
});
