import { defineModule } from '../../kernel/index.js';
import { deliveryJob, sweepJob } from './delivery.js';
import { govstackOperations } from './govstack.js';
import { otpRelay } from './identity-relay.js';
import { inboxOperations } from './inbox.js';
import { messageOperations } from './messages.js';
import { notifyMigrations } from './migrations.js';
import { resolveOptions, type NotifyOptions } from './options.js';
import { receiptRoute } from './receipts.js';
import { seedNotifyDemo } from './seed.js';
import { sendOperations } from './send.js';
import { eventConsumer, subscriptionOperations } from './subscriptions.js';
import { templateOperations } from './templates.js';

export type { NotifyOptions } from './options.js';

/** Notifications with given retry delays and subscribable events (tests shorten the delays). */
export function notifyModuleWith(options: NotifyOptions = {}) {
  const resolved = resolveOptions(options);
  return defineModule({
    name: 'notify',
    summary: 'Templates, e-mail, SMS and in-app notifications, preferences and delivery tracking',
    dependsOn: ['identity'],
    migrations: notifyMigrations,
    events: {
      publishes: ['notify.message.failed'],
      consumers: {
        // Named per purpose: each keeps its own record of events handled.
        subscriptions: eventConsumer(resolved),
        otpRelay,
      },
    },
    operations: {
      ...templateOperations,
      ...sendOperations,
      ...messageOperations,
      ...inboxOperations,
      ...subscriptionOperations(resolved),
      ...govstackOperations,
    },
    jobs: {
      deliverEmail: deliveryJob('email', resolved),
      deliverSms: deliveryJob('sms', resolved),
      sweep: sweepJob,
    },
    routes: receiptRoute(resolved),
    seedDemo: (ctx) => seedNotifyDemo(ctx),
  });
}

/** Templates, channels, subscriptions and delivery (see README.md). */
export const notifyModule = notifyModuleWith();
