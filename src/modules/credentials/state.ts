import { FreshCache, type ModuleRuntime } from '../../kernel/index.js';
import type { CredentialType } from './types.js';

/**
 * What one instance of the module keeps in memory (`credentialsModuleWith` makes a new one; two
 * runtimes in one process share nothing): issuer keys, status lists and credential types read
 * from the database, and this process's block of status positions per tenant.
 *
 * How stale a cached value may get:
 * - A change made by this process (rotation, retirement, a tenant's first key, a status change,
 *   a correction) drops what it affects as it commits: the next call reads it again.
 * - A change made by another process reaches this one through the module's listener (the kernel
 *   relays committed events to every process, normally within milliseconds) and, should that
 *   event be lost (listeners are best effort), through the cache's time to live: keys and status
 *   lists are read again at most `cacheTtlMs` (default 5 s) after they were read.
 * - A proof naming a key of a known issuer that the cached keys lack (a key made in another
 *   process a moment ago) reads the issuer's keys again at once, at most once per second.
 */
export interface CredentialsOptions {
  /** How long keys and status lists are served from memory (ms): the bound on missing another process's change. Default 5,000. */
  cacheTtlMs?: number;
  /** Status positions this process reserves per tenant at a time for single issuances. Default 100. */
  statusBlock?: number;
}

export const DEFAULT_CACHE_TTL_MS = 5_000;
export const DEFAULT_STATUS_BLOCK = 100;

/**
 * Whether the call runs inside a transaction (another module's operation calling ours in process
 * joins its caller's): then nothing is read from or kept in memory, and status positions are
 * reserved in that transaction, one at a time, so that its rollback takes them back with it.
 */
export function insideTransaction(ctx: { db: { isTransaction: boolean } }): boolean {
  return ctx.db.isTransaction;
}

/** A proof naming a key the cache lacks reads the issuer's keys again, at most this often. */
export const KEY_MISS_RELOAD_MS = 1_000;

/** A block of status positions reserved by this process for a tenant: `next` up to `end` (excluded). */
export interface PositionBlock {
  next: number;
  end: number;
  seed: string;
}

export interface CredentialsState {
  readonly cacheTtlMs: number;
  readonly statusBlock: number;
  /** Set when the module's routes are registered: platform contexts (the identity call, key creation). */
  runtime?: ModuleRuntime;
  /** Issuer keys per tenant (`keys.ts`). */
  keys: FreshCache<import('./keys.js').TenantKeys>;
  /** Signed status list credentials per tenant, purpose and list (`revocation.ts`). */
  statusLists: FreshCache<import('./revocation.js').SignedStatusList>;
  /** Credential types by tenant and code: what issuance reads of a type never changes once created. */
  types: Map<string, CredentialType>;
  /** This process's reserved status positions per tenant, and a refill under way. */
  positions: Map<string, PositionBlock>;
  refills: Map<string, Promise<PositionBlock>>;
  /** Bulk jobs this process is issuing: a job sent again while it runs here is left to that runner. */
  bulkRunners: Set<string>;
}

export function credentialsState(options: CredentialsOptions = {}): CredentialsState {
  const cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  // Read again in the background from half the time to live on, so callers rarely wait on a read.
  const cacheOptions = { ttlMs: cacheTtlMs, refreshAfterMs: cacheTtlMs / 2 };
  return {
    cacheTtlMs,
    statusBlock: options.statusBlock ?? DEFAULT_STATUS_BLOCK,
    keys: new FreshCache(cacheOptions),
    statusLists: new FreshCache(cacheOptions),
    types: new Map(),
    positions: new Map(),
    refills: new Map(),
    bulkRunners: new Set(),
  };
}

/**
 * The module instance is being started by a (new) runtime: what an earlier runtime of this
 * process cached belongs to another database, and its reserved positions to another counter.
 */
export function attachRuntime(state: CredentialsState, runtime: ModuleRuntime): void {
  if (state.runtime === runtime) return;
  state.runtime = runtime;
  state.keys.clear();
  state.statusLists.clear();
  state.types.clear();
  state.positions.clear();
  state.refills.clear();
  state.bulkRunners.clear();
}
