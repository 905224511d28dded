import type { FastifyInstance } from 'fastify';
import { systemActor, z, type ModuleRuntime } from '../../kernel/index.js';
import type { BillingState } from './billing-state.js';
import { CALLBACK_PATH, gatewayOf, settleOrder, WEBHOOK_PATH } from './online-payments.js';

const problem = { 401: z.object({ code: z.string() }).passthrough() };

/**
 * The gateway's two ways back: the browser's signed redirect (then on to the order's return URL)
 * and the signed webhook. Both settle the order once; a webhook event id seen before is
 * acknowledged and changes nothing, so retried or duplicated deliveries count once.
 */
export function gatewayRoutes(state: BillingState) {
  return async (app: FastifyInstance, runtime: ModuleRuntime): Promise<void> => {
    state.runtime = runtime;
    app.get(
      CALLBACK_PATH,
      {
        schema: {
          operationId: 'billing.gatewayCallback',
          summary: 'Where the gateway sends the browser back (signed query); redirects to the order’s return URL',
          tags: ['billing'],
          querystring: z.record(z.string(), z.string()),
          response: { 303: z.null(), ...problem },
        },
      },
      async (request, reply) => {
        const ctx = runtime.context(systemActor('billing.gateway'), request.id);
        const outcome = gatewayOf(state, ctx).parseRedirect(request.query as Record<string, unknown>);
        const order = await ctx.transaction((tx) => settleOrder(state, ctx, tx, outcome, 'callback'));
        const back = new URL(order.return_url);
        back.searchParams.set('order', order.id);
        back.searchParams.set('status', order.status);
        if (order.payment_id) back.searchParams.set('payment', order.payment_id);
        return reply.code(303).header('location', back.toString()).send();
      },
    );

    await app.register(async (scope) => {
      // Only here is JSON read as raw text: the signature covers the exact bytes.
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      scope.post(
        WEBHOOK_PATH,
        {
          schema: {
            operationId: 'billing.gatewayWebhook',
            summary: 'Gateway webhook (HMAC-signed, timestamped; a repeated event id is acknowledged and ignored)',
            tags: ['billing'],
            headers: z.object({ 'x-gateway-signature': z.string().optional() }),
            response: { 200: z.object({ status: z.string(), duplicate: z.boolean() }), ...problem },
          },
        },
        async (request) => {
          const ctx = runtime.context(systemActor('billing.gateway'), request.id);
          const raw = typeof request.body === 'string' ? request.body : '';
          const event = gatewayOf(state, ctx).parseWebhook(raw, request.headers as Record<string, unknown>, Date.now());
          return ctx.transaction(async (tx) => {
            const fresh = await tx.db
              .insertInto('webhook_events')
              .values({ event_id: event.eventId, order_id: event.orderId, received_at: state.now() })
              .onConflict((oc) => oc.column('event_id').doNothing())
              .returning('event_id')
              .executeTakeFirst();
            if (!fresh) {
              const order = await tx.db.selectFrom('gateway_orders').select('status').where('id', '=', event.orderId).executeTakeFirst();
              return { status: order?.status ?? 'unknown', duplicate: true };
            }
            const order = await settleOrder(state, ctx, tx, event, 'webhook');
            return { status: order.status as string, duplicate: false };
          });
        },
      );
    });
  };
}
