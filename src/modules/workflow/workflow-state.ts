import { systemActor, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import type { Definition } from './definition-schema.js';

export interface WorkflowOptions {
  /** The time the module sees (tests move it instead of waiting). */
  clock?: () => Date;
  /** false: no scheduled sweep (tests run the passes themselves, so no job races their clock). */
  scheduledSweep?: boolean;
}

/** A small per-process cache with a time to live; changes elsewhere drop it through listeners. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; until: number }>();
  constructor(private readonly ttlMs: number) {}
  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = load();
    this.entries.set(key, { value, until: Date.now() + this.ttlMs });
    value.catch(() => this.entries.delete(key));
    if (this.entries.size > 10_000) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
  clear(): void {
    this.entries.clear();
  }
}

/** In-memory state of one module instance: clock, caches, and the runtime for system calls. */
export interface WorkflowState {
  now(): Date;
  runtime?: ModuleRuntime;
  /** Definitions by id: a stored version never changes. */
  definitions: Map<string, Definition>;
  /** Definition ids visible from a tenant (its chain), by tenant. */
  visible: TtlCache<Definition[]>;
  holidays: TtlCache<Set<string>>;
  boundaryPaths: TtlCache<string[] | undefined>;
  jurisdictions: TtlCache<string[]>;
}

export function workflowState(options: WorkflowOptions): WorkflowState {
  return {
    now: options.clock ?? (() => new Date()),
    definitions: new Map(),
    visible: new TtlCache(60_000),
    holidays: new TtlCache(300_000),
    boundaryPaths: new TtlCache(300_000),
    jurisdictions: new TtlCache(30_000),
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
