import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SevaBootError } from '../errors/boot-error.js';
import { KernelErrors } from '../errors/seva-error.js';
import type { Actor } from '../modules/actor.js';
import { RPC_PREFIX } from '../modules/client.js';
import type { ModuleDef, OperationContext, OperationDef } from '../modules/define.js';
import type { InternalTokens } from '../modules/internal-token.js';
import { invokeOperation } from '../modules/invoke.js';
import { withIdempotency } from './idempotency.js';

export interface OperationRouteDeps {
  /** The database, for Idempotency-Key records. */
  db(): Kysely<any>;
  contextFor(module: string, actor: Actor, requestId: string): OperationContext;
  authenticate(request: FastifyRequest): Promise<Actor>;
  tokens: InternalTokens;
}

/** Publishes a module's operations that have an `http` shape as REST routes (documented in OpenAPI). */
export function registerOperationRoutes(app: FastifyInstance, def: ModuleDef, deps: OperationRouteDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  for (const [name, op] of Object.entries(def.operations ?? {})) if (op.http) registerRestRoute(typed, def.name, name, op, deps);
}

/**
 * The internal RPC route remote module clients call, `POST /rpc/:module/:operation`: one route
 * for every operation of every module here (a route each cost every start hundreds of router
 * entries). The caller's actor comes in a signed `x-seva-actor` token.
 */
export function registerRpcRoute(app: FastifyInstance, modules: readonly ModuleDef[], deps: OperationRouteDeps): void {
  const operations = new Map(modules.flatMap((def) => Object.entries(def.operations ?? {}).map(([name, op]) => [`${def.name}/${name}`, { module: def.name, op }] as const)));
  app.route<{ Params: { module: string; operation: string } }>({
    method: 'POST',
    url: `${RPC_PREFIX}/:module/:operation`,
    schema: { hide: true },
    handler: async (request, reply) => {
      const header = request.headers['x-seva-actor'];
      const verified = typeof header === 'string' ? await deps.tokens.verify(header) : undefined;
      if (!verified) throw KernelErrors.unauthenticated('Internal calls need a valid x-seva-actor token');
      const target = operations.get(`${request.params.module}/${request.params.operation}`);
      if (!target) throw KernelErrors.notFound(`operation ${request.params.module}.${request.params.operation} in this process`);
      const ctx = deps.contextFor(target.module, verified.actor, request.id);
      return reply.send(await invokeOperation(target.op, ctx, request.body ?? {}, { inputPrefix: 'body' }));
    },
  });
}

function registerRestRoute(app: FastifyInstance, module: string, name: string, op: OperationDef, deps: OperationRouteDeps): void {
  const { method, path, status = method === 'POST' ? 201 : 200 } = op.http!;
  const paramNames = [...path.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]!);
  const shape = op.input.shape;
  const pick = (names: string[]) => Object.fromEntries(names.filter((n) => n in shape).map((n) => [n, shape[n]!]));
  const restNames = Object.keys(shape).filter((n) => !paramNames.includes(n));
  const rest = z.object(pick(restNames));
  const readsBody = method !== 'GET' && method !== 'DELETE';
  const schema: Record<string, unknown> = {
    operationId: `${module}.${name}`,
    summary: op.summary,
    tags: [module],
    response: { [status]: op.output },
  };
  if (op.description) schema.description = op.description;
  if (paramNames.length > 0) schema.params = z.object(pick(paramNames));
  if (restNames.length > 0) schema[readsBody ? 'body' : 'querystring'] = rest;
  if (op.permission !== 'public') schema.security = [{ bearerAuth: [] }];
  const url = `/api/${module}/v1${path}`;
  try {
    app.withTypeProvider<ZodTypeProvider>().route({
      method,
      url,
      schema,
      handler: async (request, reply) => {
        const actor = await deps.authenticate(request);
        const input = { ...(readsBody ? (request.body as object) : (request.query as object)), ...(request.params as object) };
        const ctx = deps.contextFor(module, actor, request.id);
        const run = async () => ({ status, body: await invokeOperation(op, ctx, input, { validated: true }) });
        const key = request.headers['idempotency-key'];
        if (typeof key !== 'string' || method === 'GET') return reply.status(status).send((await run()).body);
        if (actor.kind === 'anonymous') throw KernelErrors.unauthenticated('An Idempotency-Key needs a signed-in caller');
        const result = await withIdempotency(deps.db(), { actorId: actor.id, key, method, path: url, body: input }, run);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return reply.status(result.status).send(result.body);
      },
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'FST_ERR_DUPLICATED_ROUTE') throw err;
    throw new SevaBootError(`module "${module}" declares ${method} ${url} twice (again in operation ${name})`);
  }
}
