import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModuleRuntime } from '../../kernel/index.js';
import { RegistryErrors } from './errors.js';
import { GOVSTACK_PREFIX, govstackContext } from './govstack-context.js';
import { registryByNumber, type RegistryOut } from './registries.js';

/** GovStack's DatabaseInfo for a registry. */
function databaseInfo(r: RegistryOut) {
  const fields = (r.definition.fields ?? {}) as Record<string, { searchable?: boolean; unique?: boolean; pii?: boolean }>;
  return {
    id: r.number,
    version: String(r.version),
    name: r.code,
    description: r.description ?? r.name,
    institution: r.tenantId,
    schema: r.definition.schema,
    schemaTags: Object.entries(fields)
      .filter(([, f]) => f.searchable)
      .map(([path]) => ({ name: path, path: `/${path.replace(/\./g, '/')}`, isFulltext: !fields[path]?.pii })),
    schemaFlags: Object.entries(fields).flatMap(([path, f]) => [...(f.unique ? ['unique'] : []), ...(f.pii ? ['personal'] : [])].map((name) => ({ name, path: `/${path.replace(/\./g, '/')}` }))),
    fieldsUniques: Object.entries(fields)
      .filter(([, f]) => f.unique)
      .map(([path]) => [path]),
    isDraft: false,
    isDisabled: r.status === 'disabled',
    isArchived: false,
    modifiedAt: r.updatedAt,
  };
}

/** snake_case or camelCase keys, as clients of `/database/modify` send either. */
function pick(body: Record<string, unknown>, camel: string): unknown {
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return body[camel] ?? body[snake];
}

export function databaseRoutes(app: FastifyInstance, runtime: ModuleRuntime): void {
  const tags = ['registry-govstack'];
  const doc = (operationId: string, summary: string) => ({ schema: { operationId: `registry.govstack.${operationId}`, summary, tags } });

  app.get(`${GOVSTACK_PREFIX}/databases`, doc('databases', 'GovStack: the registries of the caller’s tenant'), async (request) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const { items } = await ctx.call<{ items: RegistryOut[] }>('registry', 'listRegistries', { tenantId });
    return { name: tenantId, code: tenantId, databases: items.map(databaseInfo) };
  });

  const byNumber = async (request: FastifyRequest) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const id = Number((request.params as { id: string }).id);
    if (!Number.isInteger(id) || id < 1) throw RegistryErrors.govstackBadRequest('The database id is a positive integer', [{ path: 'params.id', message: 'a positive integer' }]);
    const registry = await registryByNumber(ctx, id);
    // Another tenant's registry does not exist for this caller.
    if (!registry || registry.tenantId !== tenantId) throw RegistryErrors.registryNotFound(String(id), 'params.id');
    return { ctx, tenantId, registry };
  };

  app.get(`${GOVSTACK_PREFIX}/database/:id`, doc('database', 'GovStack: one registry with its schema'), async (request) => {
    const { ctx, tenantId, registry } = await byNumber(request);
    return databaseInfo(await ctx.call<RegistryOut>('registry', 'getRegistry', { tenantId, code: registry.code }));
  });

  app.delete(`${GOVSTACK_PREFIX}/database/:id`, doc('deleteDatabase', 'GovStack: disable a registry (records are kept; repeats succeed)'), async (request, reply: FastifyReply) => {
    const { ctx, tenantId, registry } = await byNumber(request);
    if (registry.status !== 'disabled') await ctx.call('registry', 'updateRegistry', { tenantId, code: registry.code, version: registry.version, status: 'disabled' });
    return reply.send('Success');
  });

  app.post(`${GOVSTACK_PREFIX}/database/modify`, doc('modifyDatabase', 'GovStack: create a registry, or give it a new schema version'), async (request) => {
    const { ctx, tenantId } = await govstackContext(runtime, request);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length === 0) {
      throw RegistryErrors.govstackBadRequest('The body is empty; send { code, schema }', [{ path: 'body.code', message: 'required' }]);
    }
    const b = body as Record<string, unknown>;
    const code = pick(b, 'code');
    const schema = pick(b, 'schema');
    if (typeof code !== 'string') throw RegistryErrors.govstackBadRequest('code names the registry', [{ path: 'body.code', message: 'required' }]);
    if (typeof schema !== 'object' || schema === null) throw RegistryErrors.govstackBadRequest('schema is the JSON Schema of a record', [{ path: 'body.schema', message: 'required' }]);
    // GovStack schemas carry their own keywords (triggers, primaryKey…); only JSON Schema is kept.
    const definition = { schema: cleanSchema(schema as Record<string, unknown>), fields: pick(b, 'fields') ?? {} };
    const name = String(pick(b, 'catalogName') ?? pick(b, 'name') ?? code);
    const lower = code.toLowerCase();
    const existing = await ctx.call<{ items: RegistryOut[] }>('registry', 'listRegistries', { tenantId });
    const current = existing.items.find((r) => r.code === lower);
    const saved = current
      ? await ctx.call<RegistryOut>('registry', 'updateRegistry', { tenantId, code: lower, version: current.version, definition, status: 'active' })
      : await ctx.call<RegistryOut>('registry', 'defineRegistry', { tenantId, code: lower, name, definition });
    return saved.definition.schema;
  });
}

const JSON_SCHEMA_KEYS = new Set(['type', 'properties', 'required', 'items', 'format', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'description', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'const', 'default', 'examples', 'title', 'minItems', 'maxItems']);

function cleanSchema(node: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!JSON_SCHEMA_KEYS.has(key)) continue;
    if (key === 'properties' && value && typeof value === 'object') out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cleanSchema(v as Record<string, unknown>)]));
    else if (key === 'items' && value && typeof value === 'object' && !Array.isArray(value)) out[key] = cleanSchema(value as Record<string, unknown>);
    else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && Array.isArray(value)) out[key] = value.map((v) => cleanSchema(v as Record<string, unknown>));
    else out[key] = value;
  }
  return out;
}
