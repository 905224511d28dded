import { z } from '../../kernel/index.js';

/** The same shape identity gives tenant codes; reference only reads the code, never identity's tables. */
export const TENANT_CODE = /^[a-z]{2,10}(\.[a-z0-9_]{1,30})*$/;
export const tenantCode = z.string().regex(TENANT_CODE, 'a dotted tenant code such as in.ka.bengaluru');

/**
 * The tenant and the ones it inherits configuration from, nearest first:
 * `in.ka.bengaluru` → [`in.ka.bengaluru`, `in.ka`, `in`]. The hierarchy is the dotted code itself.
 */
export function tenantChain(tenant: string): string[] {
  const chain: string[] = [];
  for (let at = tenant.length; at > 0; at = tenant.lastIndexOf('.', at - 1)) chain.push(tenant.slice(0, at));
  return chain;
}

/** Orders rows of a chain lookup nearest tenant first. */
export function byNearest<T>(chain: readonly string[], tenantOf: (row: T) => string): (a: T, b: T) => number {
  return (a, b) => chain.indexOf(tenantOf(a)) - chain.indexOf(tenantOf(b));
}

/** jsonb arrives parsed from pg and as text from some PGlite paths. */
export function fromJson<T = unknown>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export const iso = (value: unknown): string => new Date(value as string).toISOString();
