import type { OperationContext } from '../../kernel/index.js';

/**
 * Demo templates in English and Hindi for the citizen's milestones, at the country tenant `in`
 * (every state and city inherits them), and a subscription per event to the applicant.
 */
const TEMPLATES: Array<{ code: string; channel: 'email' | 'sms' | 'inapp'; locale: string; subject?: string; body: string; html?: string; category: string }> = [
  { code: 'application.submitted', channel: 'sms', locale: 'en', category: 'status', body: 'Seva: your application {{applicationNo}} for {{service}} was received. Track it in the Seva app.' },
  { code: 'application.submitted', channel: 'sms', locale: 'hi', category: 'status', body: 'सेवा: {{service}} के लिए आपका आवेदन {{applicationNo}} प्राप्त हुआ।' },
  {
    code: 'application.submitted',
    channel: 'email',
    locale: 'en',
    category: 'status',
    subject: 'Application {{applicationNo}} received',
    body: 'Dear applicant,\n\nYour application {{applicationNo}} for {{service}} was received.\n\nSeva',
    html: '<p>Dear applicant,</p><p>Your application <b>{{applicationNo}}</b> for {{service}} was received.</p><p>Seva</p>',
  },
  {
    code: 'application.submitted',
    channel: 'email',
    locale: 'hi',
    category: 'status',
    subject: 'आवेदन {{applicationNo}} प्राप्त हुआ',
    body: 'प्रिय आवेदक,\n\n{{service}} के लिए आपका आवेदन {{applicationNo}} प्राप्त हुआ।\n\nसेवा',
  },
  { code: 'application.submitted', channel: 'inapp', locale: 'en', category: 'status', subject: 'Application received', body: 'Your application {{applicationNo}} for {{service}} was received.' },
  { code: 'application.submitted', channel: 'inapp', locale: 'hi', category: 'status', subject: 'आवेदन प्राप्त', body: '{{service}} के लिए आपका आवेदन {{applicationNo}} प्राप्त हुआ।' },
  { code: 'application.approved', channel: 'sms', locale: 'en', category: 'status', body: 'Seva: your application {{applicationNo}} was approved. Your certificate is ready to download.' },
  { code: 'application.approved', channel: 'sms', locale: 'hi', category: 'status', body: 'सेवा: आपका आवेदन {{applicationNo}} स्वीकृत हुआ। आपका प्रमाणपत्र डाउनलोड के लिए तैयार है।' },
  { code: 'payment.due', channel: 'sms', locale: 'en', category: 'payment', body: 'Seva: {{amount}} is due for application {{applicationNo}} by {{dueDate}}.' },
  { code: 'payment.due', channel: 'sms', locale: 'hi', category: 'payment', body: 'सेवा: आवेदन {{applicationNo}} के लिए {{amount}} का भुगतान {{dueDate}} तक करें।' },
];

export async function seedNotifyDemo(ctx: OperationContext): Promise<void> {
  // Through the operations' gate, as any caller: validation and audit included. Saving is an upsert.
  for (const t of TEMPLATES) await ctx.call('notify', 'upsertTemplate', { tenantId: 'in', ...t });
  const existing = await ctx.call<{ items: Array<{ event: string; template: string }> }>('notify', 'listSubscriptions', { tenant: 'in' });
  for (const [event, template] of [
    ['services.application.submitted', 'application.submitted'],
    ['services.application.approved', 'application.approved'],
  ] as const) {
    if (existing.items.some((s) => s.event === event && s.template === template)) continue;
    await ctx.call('notify', 'createSubscription', { tenantId: 'in', event, template, audience: { kind: 'applicant' }, channels: ['sms', 'email', 'inapp'], category: 'status' });
  }
}
