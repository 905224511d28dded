import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModuleRuntime, OperationContext } from '../../kernel/index.js';
import { RegistryErrors } from './errors.js';
import { asText } from './field-values.js';
import { databaseRoutes } from './govstack-databases.js';
import type { RecordOut } from './records.js';
import { findRegistry } from './registries.js';
import { GOVSTACK_PREFIX, govstackContext } from './govstack-context.js';

export { GOVSTACK_PREFIX };

type Content = Record<string, unknown>;

/** `{ query: { content } }`, or (older clients) the fields flat in the body. */
function contentOf(body: unknown, key: 'query' | 'write', required: boolean): Content | undefined {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) {
    if (required) throw RegistryErrors.govstackBadRequest(`The body is empty; send { "${key}": { "content": { … } } }`, [{ path: `body.${key}.content`, message: 'required' }]);
    return undefined;
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw RegistryErrors.govstackBadRequest('The body must be a JSON object', [{ path: 'body', message: 'must be an object' }]);
  const wrapper = (body as Record<string, unknown>)[key];
  if (wrapper !== undefined) {
    const content = (wrapper as Record<string, unknown> | null)?.content;
    if (typeof content !== 'object' || content === null || Array.isArray(content)) throw RegistryErrors.govstackBadRequest(`${key}.content must be an object`, [{ path: `body.${key}.content`, message: 'must be an object' }]);
    return content as Content;
  }
  if (key === 'query' && !('write' in (body as object))) return body as Content;
  if (required) throw RegistryErrors.govstackBadRequest(`Send { "${key}": { "content": { … } } }`, [{ path: `body.${key}.content`, message: 'required' }]);
  return undefined;
}

function flatten(value: Content, prefix = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  for (const [name, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Content, path, out);
    else out.push([path, v]);
  }
  return out;
}

async function registryFor(ctx: OperationContext, tenantId: string, name: string, version: string) {
  const registry = await findRegistry(ctx, tenantId, name);
  if (!registry || registry.status !== 'active') throw RegistryErrors.registryNotFound(name, 'registryName');
  // "1", "1.0" and "v1" all name version 1.
  const asked = Number(version.replace(/^v/i, ''));
  if (!Number.isFinite(asked) || Math.floor(asked) !== registry.version) throw RegistryErrors.registryVersionMismatch(name, version, registry.version);
  return registry;
}

/** Record ids matching every field of `content` exactly (a record id under `id` is taken as is). */
async function matching(ctx: OperationContext, tenantId: string, registry: string, content: Content, limit: number): Promise<string[]> {
  const pairs = flatten(content);
  if (pairs.length === 0) throw RegistryErrors.govstackBadRequest('The query names no field', [{ path: 'body.query.content', message: 'name at least one field' }]);
  const byId = pairs.find(([k, v]) => k === 'id' && typeof v === 'string' && v.startsWith('rec_'));
  if (byId) {
    try {
      const record = await ctx.call<RecordOut>('registry', 'getRecord', { tenantId, registry, id: byId[1] });
      return record.status === 'active' ? [record.id] : [];
    } catch (err) {
      if ((err as { code?: string }).code === 'REGISTRY_RECORD_NOT_FOUND') return [];
      throw err;
    }
  }
  const criteria = pairs.map(([field, value]) => ({ field, mode: 'exact', value: typeof value === 'number' ? value : asText(value) }));
  const found = await ctx.call<{ items: Array<{ id: string }> }>('registry', 'searchRecords', { tenantId, registry, criteria, limit });
  return found.items.map((i) => i.id);
}

function contentOfRecord(record: RecordOut): Content {
  return 'id' in record.data ? record.data : { id: record.id, ...record.data };
}

const notFound = (reply: FastifyReply) => reply.status(404).send({ detail: 'no record found' });

export function govstackRoutes(app: FastifyInstance, runtime: ModuleRuntime): void {
  const data = `${GOVSTACK_PREFIX}/data/:registryName/:versionNumber`;
  const tags = ['registry-govstack'];
  type Params = { registryName: string; versionNumber: string };
  const doc = (operationId: string, summary: string) => ({ schema: { hide: false, operationId: `registry.govstack.${operationId}`, summary, tags } });

  app.get(data, doc('list', 'GovStack: list and search records (query.<field>=exact, search=fuzzy, page, pageSize)'), async (request) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber } = request.params as Params;
    const registry = await registryFor(ctx, tenantId, registryName, versionNumber);
    const query = request.query as Record<string, unknown>;
    const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
    const page = Math.max(1, Number(one(query.page) ?? 1) || 1);
    const pageSize = Math.min(100, Math.max(1, Number(one(query.pageSize) ?? 10) || 10));
    const criteria: Array<Record<string, unknown>> = [];
    for (const [key, value] of Object.entries(query)) if (key.startsWith('query.')) criteria.push({ field: key.slice(6), mode: 'exact', value: String(one(value)) });
    const search = one(query.search);
    if (typeof search === 'string' && search) {
      const filter = one(query.filter);
      const field = typeof filter === 'string' && filter ? filter : [...registry.indexed.values()].find((f) => f.kind === 'text' && !f.flags.pii)?.path;
      if (!field) throw RegistryErrors.govstackBadRequest('This registry has no searchable text field; use query.<field>', [{ path: 'query.search', message: 'nothing to search' }]);
      criteria.push({ field, mode: 'fuzzy', value: search });
    }
    // Pages of GovStack are numbered; the search's cursor is walked to the asked page.
    let cursor: string | undefined;
    let result: { items: RecordOut[]; nextCursor: string | null } = { items: [], nextCursor: null };
    for (let p = 1; p <= page; p++) {
      result = await ctx.call('registry', 'searchRecords', { tenantId, registry: registry.code, criteria, limit: pageSize, ...(cursor ? { cursor } : {}) });
      if (!result.nextCursor && p < page) return { count: 0, next: null, previous: null, results: [] };
      cursor = result.nextCursor ?? undefined;
    }
    const base = request.url.replace(/([?&])page=[^&]*&?/, '$1').replace(/[?&]$/, '');
    const sep = base.includes('?') ? '&' : '?';
    return {
      count: result.items.length,
      next: result.nextCursor ? `${base}${sep}page=${page + 1}` : null,
      previous: page > 1 ? `${base}${sep}page=${page - 1}` : null,
      results: result.items.map(contentOfRecord),
    };
  });

  app.post(`${data}/create`, doc('create', 'GovStack: create a record from write.content'), async (request) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber } = request.params as Params;
    await registryFor(ctx, tenantId, registryName, versionNumber);
    const content = contentOf(request.body, 'write', true)!;
    const record = await ctx.call<RecordOut>('registry', 'createRecord', { tenantId, registry: registryName, data: content });
    return { content: contentOfRecord(record) };
  });

  app.post(`${data}/exists`, doc('exists', 'GovStack: whether a record matches query.content (or the fields flat in the body)'), async (request) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber } = request.params as Params;
    await registryFor(ctx, tenantId, registryName, versionNumber);
    const ids = await matching(ctx, tenantId, registryName, contentOf(request.body, 'query', true)!, 1);
    return { answer: { status: ids.length > 0, message: ids.length > 0 ? 'Object found from database' : 'Object not found from database' } };
  });

  app.post(`${data}/read`, doc('read', 'GovStack: the first record matching query.content, masked per role'), async (request, reply) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber } = request.params as Params;
    await registryFor(ctx, tenantId, registryName, versionNumber);
    const [id] = await matching(ctx, tenantId, registryName, contentOf(request.body, 'query', true)!, 1);
    if (!id) return notFound(reply);
    return { content: contentOfRecord(await ctx.call<RecordOut>('registry', 'getRecord', { tenantId, registry: registryName, id })) };
  });

  const update = (many: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber } = request.params as Params;
    await registryFor(ctx, tenantId, registryName, versionNumber);
    const write = contentOf(request.body, 'write', true)!;
    const query = contentOf(request.body, 'query', false) ?? (write.id !== undefined ? { id: write.id } : undefined);
    if (!query) throw RegistryErrors.govstackBadRequest('Say which record: query.content, or an id in write.content', [{ path: 'body.query.content', message: 'required' }]);
    const ids = await matching(ctx, tenantId, registryName, query, many ? 100 : 1);
    if (ids.length === 0) return notFound(reply);
    // Sent twice, an update finds nothing to change the second time and answers the same.
    const updated: RecordOut[] = [];
    for (const id of ids) updated.push(await ctx.call<RecordOut>('registry', 'updateRecord', { tenantId, registry: registryName, id, changes: write, reason: 'GovStack update' }));
    return many ? { count: updated.length } : { content: contentOfRecord(updated[0]!) };
  };
  app.put(`${data}/update`, doc('update', 'GovStack: update the record matching query.content with write.content (idempotent)'), update(false));
  app.put(`${data}/updateEntries`, doc('updateEntries', 'GovStack: update every record matching query.content (idempotent)'), update(true));
  app.put(`${data}/update-entries`, { schema: { hide: true } }, update(true));

  const updateOrCreate = async (request: FastifyRequest) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber } = request.params as Params;
    await registryFor(ctx, tenantId, registryName, versionNumber);
    const write = contentOf(request.body, 'write', true)!;
    const query = contentOf(request.body, 'query', false);
    const [id] = query ? await matching(ctx, tenantId, registryName, query, 1) : [];
    const record = id
      ? await ctx.call<RecordOut>('registry', 'updateRecord', { tenantId, registry: registryName, id, changes: write, reason: 'GovStack updateOrCreate' })
      : await ctx.call<RecordOut>('registry', 'createRecord', { tenantId, registry: registryName, data: write });
    return { content: contentOfRecord(record) };
  };
  app.post(`${data}/updateOrCreate`, doc('updateOrCreate', 'GovStack: update the matching record, or create one'), updateOrCreate);
  app.post(`${data}/update-or-create`, { schema: { hide: true } }, updateOrCreate);

  app.delete(`${data}/:ID/delete`, doc('delete', 'GovStack: soft-delete a record by record id or by its own id field (repeats answer 204 too)'), async (request, reply) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber, ID } = request.params as Params & { ID: string };
    const registry = await registryFor(ctx, tenantId, registryName, versionNumber);
    let id: string | undefined = ID.startsWith('rec_') ? ID : undefined;
    if (!id && registry.indexed.has('id')) id = (await matching(ctx, tenantId, registryName, { id: ID }, 1))[0];
    if (!id) {
      // A record deleted earlier has left the index: a repeated delete by its own id is a success.
      return ID.startsWith('rec_') ? notFound(reply) : reply.status(204).send();
    }
    try {
      await ctx.call('registry', 'deleteRecord', { tenantId, registry: registryName, id, reason: 'GovStack delete' });
    } catch (err) {
      if ((err as { code?: string }).code === 'REGISTRY_RECORD_NOT_FOUND') return notFound(reply);
      throw err;
    }
    return reply.status(204).send();
  });

  const readValue = async (request: FastifyRequest, reply: FastifyReply) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { registryName, versionNumber, uuid, file } = request.params as Params & { uuid: string; file: string };
    await registryFor(ctx, tenantId, registryName, versionNumber);
    const dot = file.lastIndexOf('.');
    const field = dot > 0 ? file.slice(0, dot) : file;
    const ext = dot > 0 ? file.slice(dot + 1) : 'json';
    const [id] = uuid.startsWith('rec_') ? [uuid] : await matching(ctx, tenantId, registryName, { id: uuid }, 1);
    if (!id) return notFound(reply);
    const record = await ctx.call<RecordOut>('registry', 'getRecord', { tenantId, registry: registryName, id });
    const value = field.split('.').reduce<unknown>((at, part) => (at && typeof at === 'object' ? (at as Content)[part] : undefined), contentOfRecord(record));
    if (value === undefined) return notFound(reply);
    return ext === 'json' ? { value } : reply.type('text/plain; charset=utf-8').send(asText(value));
  };
  app.get(`${data}/:uuid/readValue/:file`, doc('readValue', 'GovStack: one field of one record ({field}.json), masked per role'), readValue);
  app.get(`${data}/:uuid/read-value/:file`, { schema: { hide: true } }, readValue);

  const usage = async (request: FastifyRequest) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const query = request.query as Record<string, unknown>;
    const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
    const userId = one(query.userId ?? query.userID);
    const registry = one(query.databaseId ?? query.DatabaseID);
    if (typeof userId !== 'string' || typeof registry !== 'string') {
      throw RegistryErrors.govstackBadRequest('userId and databaseId are required', [{ path: typeof userId !== 'string' ? 'query.userId' : 'query.databaseId', message: 'required' }]);
    }
    const result = await ctx.call<{ items: unknown[] }>('registry', 'personalDataUsage', { tenantId, registry, userId });
    return result.items;
  };
  app.get(`${GOVSTACK_PREFIX}/data/myPersonalDataUsage`, doc('myPersonalDataUsage', 'GovStack: who read a citizen’s personal data, and why'), usage);
  app.get(`${GOVSTACK_PREFIX}/data/MyPersonalDataUsage/1.0`, { schema: { hide: true } }, usage);

  databaseRoutes(app, runtime);
}
