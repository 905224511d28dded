import { FreshCache, systemActor, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import type { Definition } from './definition-schema.js';

export interface WorkflowOptions {
  /** The time the module sees (tests move it instead of waiting). */
  clock?: () => Date;
  /** false: no scheduled sweep (tests run the passes themselves, so no job races their clock). */
  scheduledSweep?: boolean;
}

/**
 * In-memory state of one module instance: clock, caches, and the runtime for system calls. The
 * module's listeners drop a cache when what it holds changes; the time to live bounds how stale a
 * process that missed the event gets. The caches age on real time, not on `now()`: tests that move
 * the module's clock by days are not meant to expire them.
 */
export interface WorkflowState {
  now(): Date;
  runtime?: ModuleRuntime;
  /** Definitions by id: a stored version never changes. */
  definitions: Map<string, Definition>;
  /** Definition ids visible from a tenant (its chain), by tenant. */
  visible: FreshCache<Definition[]>;
  holidays: FreshCache<Set<string>>;
  boundaryPaths: FreshCache<string[] | undefined>;
  jurisdictions: FreshCache<string[]>;
}

export function workflowState(options: WorkflowOptions): WorkflowState {
  return {
    now: options.clock ?? (() => new Date()),
    definitions: new Map(),
    visible: new FreshCache({ ttlMs: 60_000 }),
    holidays: new FreshCache({ ttlMs: 300_000 }),
    boundaryPaths: new FreshCache({ ttlMs: 300_000 }),
    jurisdictions: new FreshCache({ ttlMs: 30_000 }),
  };
}

/**
 * A context acting as the platform, for reads the workflow needs whatever the caller may do
 * (holidays, boundaries, who is eligible): an employee taking an action needs no right to read
 * master data or the staff directory. It joins the caller's transaction like any nested call.
 */
export function systemContext(state: WorkflowState, ctx: OperationContext, purpose: string): OperationContext {
  if (!state.runtime) return ctx;
  return state.runtime.context(systemActor(`workflow.${purpose}`), ctx.requestId);
}

/** The dotted tenant and the ones above it, nearest first. */
export function tenantChain(tenant: string): string[] {
  const chain: string[] = [];
  for (let at = tenant.length; at > 0; at = tenant.lastIndexOf('.', at - 1)) chain.push(tenant.slice(0, at));
  return chain;
}

export const iso = (value: unknown): string => new Date(value as string).toISOString();
export const isoOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value));
export function fromJson<T = unknown>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
