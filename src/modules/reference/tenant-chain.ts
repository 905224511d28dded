export { TENANT_CODE, tenantChain, tenantCode } from '../../kernel/index.js';

/** Orders rows of a chain lookup nearest tenant first. */
export function byNearest<T>(chain: readonly string[], tenantOf: (row: T) => string): (a: T, b: T) => number {
  return (a, b) => chain.indexOf(tenantOf(a)) - chain.indexOf(tenantOf(b));
}

/** jsonb arrives parsed from pg and as text from some PGlite paths. */
export function fromJson<T = unknown>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export const iso = (value: unknown): string => new Date(value as string).toISOString();
