import { z } from 'zod';
import { SevaError } from '../errors/seva-error.js';
import type { Actor } from './actor.js';
import type { OperationDef } from './define.js';

/**
 * Input fields that name a tenant unless the operation declares its own (`tenantField`: a field,
 * or a path such as `roles[].tenant` for every element of an array).
 */
export const DEFAULT_TENANT_FIELDS = ['tenantId', 'tenant'] as const;

/** The input fields of `op` that name the tenant it acts on. */
export function tenantFieldsOf(op: OperationDef<any, any>): readonly string[] {
  if (op.tenantField === undefined) return DEFAULT_TENANT_FIELDS;
  return typeof op.tenantField === 'string' ? [op.tenantField] : op.tenantField;
}

/** `in.ka` covers itself and `in.ka.bengaluru`, never `in.kar` or `in`. */
export function tenantCovers(actorTenant: string, target: string): boolean {
  return target === actorTenant || target.startsWith(`${actorTenant}.`);
}

/**
 * The tenant scope of a call: every tenant-bearing input field must be the actor's tenant or one
 * below it, or above it for operations that read inherited configuration. The platform
 * (`system`) acts anywhere; an actor with no tenant (anonymous callers of public operations,
 * platform tools on internal tokens) is not scoped here.
 */
export function checkTenantScope(op: OperationDef<any, any>, actor: Actor, input: unknown): void {
  if (actor.kind !== 'user' || !actor.tenantId || !input || typeof input !== 'object') return;
  for (const field of tenantFieldsOf(op)) {
    for (const { path, value } of valuesAt(input, field.split('.'), [])) {
      if (typeof value !== 'string' || tenantCovers(actor.tenantId, value)) continue;
      // Inherited configuration may be read from above: the target is an ancestor of the actor.
      if (op.readsInherited && tenantCovers(value, actor.tenantId)) continue;
      const at = path.join('.');
      throw new SevaError('TENANT_FORBIDDEN', 403, `Tenant ${value} is outside the caller's tenant ${actor.tenantId}`, [{ path: at, message: 'outside your tenant' }], { field: at });
    }
  }
}

/** The values at a field path; `roles[]` steps into every element (`roles[].tenant`). */
function valuesAt(value: unknown, steps: readonly string[], path: Array<string | number>): Array<{ path: Array<string | number>; value: unknown }> {
  if (steps.length === 0) return [{ path, value }];
  if (!value || typeof value !== 'object') return [];
  const [step, ...rest] = steps as [string, ...string[]];
  const each = step.endsWith('[]');
  const key = each ? step.slice(0, -2) : step;
  const next = (value as Record<string, unknown>)[key];
  if (!each) return valuesAt(next, rest, [...path, key]);
  if (!Array.isArray(next)) return [];
  return next.flatMap((item, index) => valuesAt(item, rest, [...path, key, index]));
}

/** A tenant code: a root of 2–10 letters, then dotted segments (`in.ka.bengaluru`). */
export const TENANT_CODE = /^[a-z]{2,10}(\.[a-z0-9_]{1,30})*$/;
export const tenantCode = z.string().regex(TENANT_CODE, 'a dotted tenant code such as in.ka.bengaluru');

/**
 * The tenant and those it inherits configuration from, nearest first:
 * `in.ka.bengaluru` → [`in.ka.bengaluru`, `in.ka`, `in`]. The hierarchy is the dotted code itself.
 */
export function tenantChain(tenant: string): string[] {
  const chain: string[] = [];
  for (let at = tenant.length; at > 0; at = tenant.lastIndexOf('.', at - 1)) chain.push(tenant.slice(0, at));
  return chain;
}
