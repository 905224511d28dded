import { AllocationQueue } from './allocation-queue.js';
import { LookupCache } from './lookup-cache.js';

export interface ReferenceOptions {
  /** The time ID periods are computed from (tests move it across a financial year). */
  clock?: () => Date;
}

/** What one instance of the module keeps in memory: its cache, its clock, its allocation queues. */
export interface ReferenceState {
  cache: LookupCache;
  clock: () => Date;
  allocations: AllocationQueue;
}

export function referenceState(options: ReferenceOptions = {}): ReferenceState {
  return { cache: new LookupCache(), clock: options.clock ?? (() => new Date()), allocations: new AllocationQueue() };
}

/** Cache areas; a change event names the area it makes stale. */
export const masterdataArea = (schema: string) => `masterdata:${schema}`;
export const MESSAGES_AREA = 'messages';
