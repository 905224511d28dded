import { isSevaError, type ConsumerDef } from '../../kernel/index.js';
import { definitionById } from './definitions.js';
import { applyAction, holdsOver } from './transitions.js';
import type { WorkflowState } from './workflow-state.js';

/**
 * Billing's `billing.payment.completed` moves the record it pays for: the active process of the
 * payment's tenant whose service and business id are the payment's service and consumer code
 * takes the action of its current state declared `on: { event: 'billing.payment.completed' }`
 * whose `when` holds over the payment (e.g. nothing left outstanding), as the platform (the
 * DIGIT flow where paying the fee sends an application on for approval). The payment is merged
 * into the record under `payment`. No process, no such action, or a `when` that does not hold:
 * nothing happens. A lost race (409) is retried with the event; a refusal (guard, requirements)
 * is logged and not retried, as a person could not take it either.
 */
export function paymentReactions(state: WorkflowState): ConsumerDef {
  return {
    events: ['billing.payment.completed'],
    async handler(ctx, event) {
      const payment = event.payload as Record<string, unknown>;
      if (!event.tenantId || typeof payment.service !== 'string' || typeof payment.consumerCode !== 'string') return;
      const row = await ctx.db
        .selectFrom('processes')
        .select(['id', 'definition_id', 'state'])
        .where('tenant_id', '=', event.tenantId)
        .where('service', '=', payment.service)
        .where('business_id', '=', payment.consumerCode)
        .where('status', '=', 'active')
        .executeTakeFirst();
      if (!row) return;
      const def = await definitionById(state, ctx, String(row.definition_id));
      const action = (def.actionsFrom.get(row.state) ?? []).find((a) => a.on?.event === event.name && holdsOver(a.on.when, payment));
      if (!action) return;
      try {
        await applyAction(state, ctx, {
          id: String(row.id),
          action: action.name,
          comment: `payment ${String(payment.receiptNo ?? payment.paymentId)}`,
          data: { payment: { id: payment.paymentId, receiptNo: payment.receiptNo, amount: payment.amount, currency: payment.currency, outstanding: payment.outstanding } },
        });
      } catch (err) {
        if (!isSevaError(err) || err.status === 409) throw err;
        ctx.log.warn({ processId: row.id, action: action.name, code: err.code }, 'payment reaction not taken');
      }
    },
  };
}
