import { defineModule } from '../../kernel/index.js';
import { billingState, type BillingOptions } from './billing-state.js';
import { billOperations } from './bills.js';
import { dayCloseOperations } from './day-close.js';
import { demandOperations } from './demands.js';
import { feeConfigOperations } from './fee-config.js';
import { gatewayRoutes } from './gateway-routes.js';
import { billingMigrations } from './migrations.js';
import { onlinePaymentOperations, reconcileOrders } from './online-payments.js';
import { paymentOperations } from './payments.js';
import { receiptOperations, receiptPdfRoute } from './receipts.js';
import { refundOperations } from './refunds.js';
import { seedBillingDemo } from './seed.js';

export type { BillingOptions } from './billing-state.js';
export type { PaymentGateway, GatewayOutcome } from './gateway/adapter.js';

/**
 * The billing module with its own state (clock, gateway). Each call makes a new instance; tests
 * pass a clock they move and run reconciliation passes themselves.
 */
export function billingModuleWith(options: BillingOptions = {}) {
  const state = billingState(options);
  return defineModule({
    name: 'billing',
    summary: 'Tax heads, fee rules, demands, bills, counter and online payments, receipts, refunds',
    dependsOn: ['identity', 'reference'],
    migrations: billingMigrations,
    events: {
      publishes: ['billing.demand.created', 'billing.payment.completed', 'billing.payment.refunded', 'billing.payment.cancelled'],
    },
    operations: {
      ...feeConfigOperations(state),
      ...demandOperations(state),
      ...billOperations(state),
      ...paymentOperations(state),
      ...onlinePaymentOperations(state),
      ...receiptOperations(),
      ...refundOperations(state),
      ...dayCloseOperations(state),
    },
    jobs:
      options.scheduledReconcile === false
        ? {}
        : {
            reconcileOrders: {
              schedule: '*/5 * * * *',
              async handler(ctx) {
                // Without a configured gateway there is nothing to ask.
                if (!options.gateway && !ctx.config.paymentGatewayUrl) return;
                await reconcileOrders(state, ctx);
              },
            },
          },
    async routes(app, runtime) {
      await gatewayRoutes(state)(app, runtime);
      await receiptPdfRoute(app, runtime, state);
    },
    seedDemo: (ctx) => seedBillingDemo(ctx),
  });
}

/** Billing and payments (see README.md). */
export const billingModule = billingModuleWith();
