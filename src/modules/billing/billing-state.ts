import { systemActor, tenantCovers, type Actor, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import type { PaymentGateway } from './gateway/adapter.js';

export interface BillingOptions {
  /** The time the module sees (tests move it to expire bills and accrue penalties). */
  clock?: () => Date;
  /** The payment gateway; default: the HTTP gateway named by SEVA_PAYMENT_GATEWAY_URL. */
  gateway?: PaymentGateway;
  /** false: no scheduled reconciliation (tests run the pass themselves). */
  scheduledReconcile?: boolean;
}

/** In-memory state of one module instance: clock, gateway, and the runtime for system calls. */
export interface BillingState {
  now(): Date;
  gateway?: PaymentGateway;
  runtime?: ModuleRuntime;
}

export function billingState(options: BillingOptions): BillingState {
  return { now: options.clock ?? (() => new Date()), ...(options.gateway ? { gateway: options.gateway } : {}) };
}

/**
 * A context acting as the platform, for what billing needs whatever the caller may do (receipt
 * numbers from reference): a cashier needs no right to allocate IDs. It joins the caller's
 * transaction like any nested call.
 */
export function systemContext(state: BillingState, ctx: OperationContext, purpose: string): OperationContext {
  if (!state.runtime) return ctx;
  return state.runtime.context(systemActor(`billing.${purpose}`), ctx.requestId);
}

export function visibleTo(actor: Actor, tenant: string): boolean {
  return actor.kind === 'system' || (!!actor.tenantId && tenantCovers(actor.tenantId, tenant));
}

export const iso = (value: unknown): string => new Date(value as string).toISOString();
export const isoOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : iso(value));
export const num = (value: unknown): number => Number(value);
export function fromJson<T = unknown>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
