import { defineModule, type OperationContext } from '../src/kernel/index.js';

export const BENCH_EVENT = 'bench.item.created';
export const SINK = 'bench.sink';

/**
 * A module with no tables: it publishes one event and consumes it with a handler that does
 * nothing, so the outbox bench measures the kernel's own path (outbox write, relay, the
 * processed-event mark) and nothing of a module's.
 */
export const benchModule = defineModule({
  name: 'bench',
  summary: 'Outbox benchmark: publishes and sinks bench.item.created',
  events: {
    publishes: [BENCH_EVENT],
    consumers: {
      sink: {
        events: [BENCH_EVENT],
        async handler() {},
      },
    },
  },
});

/** One transaction that emits `size` events; they commit (and become visible to the relay) together. */
export async function commitBatch(ctx: OperationContext, batch: number, size: number): Promise<void> {
  await ctx.transaction(async (tx) => {
    for (let i = 0; i < size; i++) {
      await tx.emit({ name: BENCH_EVENT, tenantId: 'bench', payload: { batch, i } });
    }
  });
}
