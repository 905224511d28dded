/** A domain event as stored in the outbox and delivered to consumers. */
export interface SevaEvent<P = Record<string, unknown>> {
  id: string;
  /** `module.entity.verb`, e.g. `workflow.process.transitioned`. */
  name: string;
  tenantId: string | null;
  payload: P;
  actorId: string | null;
  requestId: string | null;
  occurredAt: string;
}

export interface NewEvent<P = Record<string, unknown>> {
  name: string;
  tenantId?: string | null | undefined;
  payload: P;
}

export const EVENT_NAME = /^[a-z][a-z0-9]*(\.[a-z][a-zA-Z0-9]*){2,}$/;
