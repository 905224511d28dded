import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BusStats } from '../events/bus.js';

/** Prometheus metrics of one process: runtime defaults, HTTP traffic and event flow. */
export class Metrics {
  readonly registry = new Registry();
  /** Its `_count` series counts requests too: one metric update per request, not two. */
  readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(busStats: () => BusStats | undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'seva_' });
    this.duration = new Histogram({
      name: 'seva_http_request_duration_seconds',
      help: 'HTTP request duration; _count is the number of requests',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    for (const key of ['published', 'delivered', 'duplicates', 'failed'] as const) {
      new Gauge({
        name: `seva_events_${key}_total`,
        help: `Events ${key} by this process since start`,
        registers: [this.registry],
        collect() {
          this.set(busStats()?.[key] ?? 0);
        },
      });
    }
  }
}
