import type { ConsumerDef } from '../../kernel/index.js';
import { queueMessages } from './queue.js';
import { smsEncoding } from './sms-encoding.js';

/**
 * Identity's sign-in codes, sent for real. Identity writes each code to its own development
 * outbox (so it works without notify) and announces `identity.otp.requested` with the message id
 * only; notify fetches the sealed text through identity's `relayMessage` operation and sends it,
 * mandatory (a code is not marketing) and once per message id.
 */
export const otpRelay: ConsumerDef = {
  events: ['identity.otp.requested'],
  async handler(ctx, event) {
    const id = String(event.payload.messageId ?? '');
    if (!id) return;
    const message = await ctx.call<{ tenantId: string; channel: 'sms' | 'email'; recipient: string; body: string }>('identity', 'relayMessage', { id });
    await queueMessages(
      ctx,
      [
        {
          tenantId: message.tenantId,
          channel: message.channel,
          userId: null,
          recipient: message.recipient,
          locale: null,
          template: null,
          category: 'security',
          mandatory: true,
          subject: message.channel === 'email' ? 'Your Seva sign-in code' : null,
          body: message.body,
          html: null,
          sms: message.channel === 'sms' ? smsEncoding(message.body) : null,
          dedupeKey: `identity.otp:${id}`,
          eventId: event.id,
        },
      ],
      { action: 'notify.messages.queued', entityType: 'event', entityId: event.id, tenantId: message.tenantId, data: { event: event.name } },
    );
  },
};
