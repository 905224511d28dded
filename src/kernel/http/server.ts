import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { SevaConfig } from '../config/schema.js';
import { KernelErrors } from '../errors/seva-error.js';
import { lazyChild, type Logger } from '../log/logger.js';
import type { Actor } from '../modules/actor.js';
import type { ModuleDef, ModuleRuntime, OperationContext } from '../modules/define.js';
import type { InternalTokens } from '../modules/internal-token.js';
import { registerDocs } from './docs.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { Metrics } from './metrics.js';
import { registerOperationRoutes, registerRpcRoute } from './operation-routes.js';
import { PROBLEM_TYPE, sendProblem, toSevaError } from './problem.js';

export interface HttpServerDeps {
  config: SevaConfig;
  log: Logger;
  modules: readonly ModuleDef[];
  metrics: Metrics;
  tokens: InternalTokens;
  contextFor(module: string, actor: Actor, requestId: string): OperationContext;
  db(): Kysely<any>;
  authenticate(request: FastifyRequest): Promise<Actor>;
  rateLimiter: RateLimiter;
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // One line per request at 20k req/s costs more than the request; metrics count them instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimit,
    // A hop count works at run time (proxy-addr); the type omits it.
    trustProxy: config.trustProxy as boolean | string[],
    // A caller's request id is kept when it is sane, so one id follows a call across processes.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    childLoggerFactory: (logger, bindings) => lazyChild(logger as Logger, bindings) as FastifyBaseLogger,
    forceCloseConnections: 'idle',
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Callback hooks, not async ones: they run on every request, and a promise each is measurable.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.duration.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    done();
  });
  app.setErrorHandler((error, request, reply) => {
    const problem = toSevaError(error, config.bodyLimit);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: problem.code }, 'request refused');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, KernelErrors.notFound(`route ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Seva API', version: '1', description: 'Public service delivery platform' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
  });
  registerDocs(app);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { schema: { hide: true } }, async (_request, reply) => {
    const { ready, checks } = await deps.readiness();
    if (ready) return { status: 'ready', checks };
    return reply.status(503).type(PROBLEM_TYPE).send({
      type: 'urn:seva:problem:not-ready',
      title: 'Service Unavailable',
      status: 503,
      code: 'NOT_READY',
      detail: 'Not ready to serve',
      checks,
    });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  registerRpcRoute(app, deps.modules, deps);
  for (const def of deps.modules) {
    registerOperationRoutes(app, def, deps);
    const runtime: ModuleRuntime = { config, context: (actor, requestId) => deps.contextFor(def.name, actor, requestId), authenticate: deps.authenticate, rateLimiter: deps.rateLimiter };
    if (def.routes) await app.register(async (scope) => def.routes!(scope, runtime));
  }
  return app;
}
