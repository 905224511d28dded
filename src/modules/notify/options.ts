/** What tests and deployments may tune without configuration (delays, clocks, which events are heard). */
export interface NotifyOptions {
  /** First retry after this many ms; each further one waits twice as long, up to `maxRetryDelayMs`. */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
  /** Attempts before a message is `failed` for good. */
  maxAttempts?: number;
  /** Domain events subscriptions may name (consumers are declared at boot, so the list is too). */
  events?: readonly string[];
  /** How old a delivery receipt's timestamp may be. */
  receiptToleranceSeconds?: number;
  /** Messages claimed per round of a delivery job. */
  claimBatch?: number;
  /** Messages in flight to one provider at once, within its rate. */
  concurrency?: number;
}

/** Events of the platform's service modules that commonly concern citizens and staff. */
export const DEFAULT_EVENTS = [
  'identity.user.created',
  'identity.employee.assigned',
  'services.application.submitted',
  'services.application.actionRequired',
  'services.application.approved',
  'services.application.rejected',
  'billing.demand.created',
  'billing.payment.received',
  'credentials.credential.issued',
  'workflow.process.transitioned',
] as const;

export type ResolvedOptions = Required<NotifyOptions>;

export function resolveOptions(options: NotifyOptions): ResolvedOptions {
  return {
    retryBaseMs: options.retryBaseMs ?? 10_000,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 60 * 60_000,
    maxAttempts: options.maxAttempts ?? 10,
    events: options.events ?? DEFAULT_EVENTS,
    receiptToleranceSeconds: options.receiptToleranceSeconds ?? 300,
    claimBatch: options.claimBatch ?? 200,
    concurrency: options.concurrency ?? 32,
  };
}

/** Exponential backoff with ±20 % jitter, so retries after an outage do not arrive all at once. */
export function retryDelayMs(options: ResolvedOptions, attempts: number): number {
  const base = Math.min(options.maxRetryDelayMs, options.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
