import type { FastifyRequest } from 'fastify';
import { SevaError, tenantCovers, type ModuleRuntime } from '../../kernel/index.js';
import { RegistryErrors } from './errors.js';

/** GovStack Digital Registries paths are served under this prefix (see README). */
export const GOVSTACK_PREFIX = '/api/registry/govstack';


/** The request's actor, tenant and calling system; every GovStack call names the latter. */
export async function govstackContext(runtime: ModuleRuntime, request: FastifyRequest) {
  const client = request.headers['information-mediator-client'];
  if (typeof client !== 'string' || client.trim() === '') throw RegistryErrors.govstackClientMissing();
  const actor = await runtime.authenticate(request);
  const query = request.query as Record<string, unknown>;
  // A repeated query parameter arrives as an array: the first one counts.
  const asked = Array.isArray(query.tenantId) ? query.tenantId[0] : query.tenantId;
  const tenantId = typeof asked === 'string' && asked ? asked : actor.tenantId;
  if (!tenantId) throw RegistryErrors.govstackBadRequest('Name the tenant with ?tenantId= (the caller has none)', [{ path: 'query.tenantId', message: 'required' }]);
  // Checked here too, before any lookup: a registry's existence in another tenant is not for this caller.
  if (actor.kind === 'user' && actor.tenantId && !tenantCovers(actor.tenantId, tenantId)) {
    throw new SevaError('TENANT_FORBIDDEN', 403, `Tenant ${tenantId} is outside the caller's tenant ${actor.tenantId}`, [{ path: 'query.tenantId', message: 'outside your tenant' }], { field: 'tenantId' });
  }
  return { ctx: runtime.context(actor, request.id), tenantId, client: client.trim() };
}

