import { FreshCache } from '../../kernel/index.js';
import { AllocationQueue } from './allocation-queue.js';

export interface ReferenceOptions {
  /** The time ID periods are computed from (tests move it across a financial year). */
  clock?: () => Date;
}

/**
 * Resolved lookups in named areas (`masterdata:<schema>`, `messages`, `idformats`). A write in this
 * process drops its area at once, the module's listener drops it in every other process; a load
 * under way when its area is dropped is not kept. The time to live is only a safety net for an
 * event a process missed (core NATS delivery is at most once).
 */
export interface LookupCache {
  get<T>(area: string, key: string, load: () => Promise<T>): Promise<T>;
  drop(area: string): void;
}

function lookupCache(): LookupCache {
  const cache = new FreshCache<unknown>({ ttlMs: 5 * 60_000 });
  // Area names hold no NUL, so dropping `masterdata:a` leaves `masterdata:ab` alone.
  const id = (area: string, key: string) => `${area}\u0000${key}`;
  return {
    get: <T>(area: string, key: string, load: () => Promise<T>) => cache.get(id(area, key), load) as Promise<T>,
    drop: (area) => cache.forgetWhere((key) => key.startsWith(id(area, ''))),
  };
}

/** What one instance of the module keeps in memory: its cache, its clock, its allocation queues. */
export interface ReferenceState {
  cache: LookupCache;
  clock: () => Date;
  allocations: AllocationQueue;
}

export function referenceState(options: ReferenceOptions = {}): ReferenceState {
  return { cache: lookupCache(), clock: options.clock ?? (() => new Date()), allocations: new AllocationQueue() };
}

/** Cache areas; a change event names the area it makes stale. */
export const masterdataArea = (schema: string) => `masterdata:${schema}`;
export const MESSAGES_AREA = 'messages';
