import type { FastifyInstance } from 'fastify';
import { can, defineOperation, KernelErrors, z, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import { iso, isoOrNull, num, type BillingState } from './billing-state.js';
import { billingId } from './demands.js';
import { taxHeadsFor } from './fee-config.js';
import { formatMoney } from './money.js';
import { loadPayment } from './payments.js';
import { P } from './permissions.js';

export const receiptOut = z.object({
  receiptNo: z.string(),
  paymentId: z.string(),
  tenantId: z.string(),
  service: z.string(),
  consumerCode: z.string(),
  mode: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  amountText: z.string(),
  paidAt: z.string(),
  status: z.enum(['completed', 'cancelled']),
  cancelledAt: z.string().nullable(),
  refunded: z.number().int(),
  lines: z.array(z.object({ taxHead: z.string(), name: z.string(), glCode: z.string(), amount: z.number().int() })),
});
export type Receipt = z.infer<typeof receiptOut>;

/** The receipt of a payment as data: what it paid, per tax head with its accounting code (payment allocations only). */
export async function receiptOf(ctx: OperationContext, paymentId: string): Promise<Receipt> {
  const p = await loadPayment(ctx, ctx.db, paymentId);
  const rows = await ctx.db
    .selectFrom('allocations as a')
    .innerJoin('demand_lines as l', 'l.id', 'a.line_id')
    .select(['l.tax_head as tax_head'])
    .select((eb) => eb.fn.sum('a.amount').as('amount'))
    .where('a.payment_id', '=', p.id)
    .where('a.kind', '=', 'payment')
    .groupBy('l.tax_head')
    .execute();
  const heads = await taxHeadsFor(ctx, p.tenant_id, p.service);
  return {
    receiptNo: p.receipt_no,
    paymentId: p.id,
    tenantId: p.tenant_id,
    service: p.service,
    consumerCode: p.consumer_code,
    mode: p.mode,
    amount: num(p.amount),
    currency: p.currency,
    amountText: formatMoney(num(p.amount), p.currency),
    paidAt: iso(p.created_at),
    status: p.status,
    cancelledAt: isoOrNull(p.cancelled_at),
    refunded: num(p.refunded),
    lines: rows
      .map((r: any) => ({ taxHead: r.tax_head, name: heads.get(r.tax_head)?.name ?? r.tax_head, glCode: heads.get(r.tax_head)?.gl_code ?? '', amount: num(r.amount) }))
      .sort((a, b) => (a.taxHead < b.taxHead ? -1 : 1)),
  };
}

/** The receipt as a one-page PDF (pdfkit, standard Helvetica: Latin script only for now). */
export async function receiptPdf(r: Receipt): Promise<Buffer> {
  // Loaded on the first PDF: pdfkit and its font stack are a third of the server bundle.
  const { default: PDFDocument } = await import('pdfkit');
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `Receipt ${r.receiptNo}`, Producer: 'Seva' }, compress: true });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.fontSize(18).text('Payment receipt', { align: 'center' }).moveDown();
    doc.fontSize(11);
    const row = (label: string, value: string) => doc.text(`${label}: ${value}`);
    row('Receipt no.', r.receiptNo);
    row('Date', r.paidAt);
    row('Tenant', r.tenantId);
    row('Service', r.service);
    row('Consumer code', r.consumerCode);
    row('Mode', r.mode);
    doc.moveDown();
    for (const l of r.lines) doc.text(`${l.name} (${l.taxHead}, GL ${l.glCode})`, { continued: true }).text(formatMoney(l.amount, r.currency), { align: 'right' });
    doc.moveDown().fontSize(13).text(`Total paid: ${r.amountText}`, { align: 'right' });
    if (r.status === 'cancelled') doc.moveDown().fillColor('red').text(`CANCELLED ${r.cancelledAt ?? ''}`);
    if (r.refunded > 0) doc.moveDown().fillColor('red').text(`Refunded: ${formatMoney(r.refunded, r.currency)}`);
    doc.end();
  });
}

export function receiptOperations() {
  return {
    getReceipt: defineOperation({
      summary: 'The receipt of a payment as data (number, amounts per tax head with GL codes, status, refunds)',
      permission: P.paymentRead,
      http: { method: 'GET', path: '/payments/:id/receipt' },
      input: z.object({ id: billingId }),
      output: receiptOut,
      handler: (ctx, input) => receiptOf(ctx, input.id),
    }),
  };
}

export const RECEIPT_PDF_PATH = '/api/billing/v1/payments/:id/receipt.pdf';

/** `GET …/payments/:id/receipt.pdf`: the same receipt as a PDF, same permission and tenant scope. */
export async function receiptPdfRoute(app: FastifyInstance, runtime: ModuleRuntime, _state: BillingState): Promise<void> {
  app.get(
    RECEIPT_PDF_PATH,
    {
      schema: {
        operationId: 'billing.receiptPdf',
        summary: 'The receipt of a payment as a PDF',
        tags: ['billing'],
        params: z.object({ id: billingId }),
      },
    },
    async (request, reply) => {
      const actor = await runtime.authenticate(request);
      if (actor.kind === 'anonymous') throw KernelErrors.unauthenticated();
      if (!can(actor, P.paymentRead)) throw KernelErrors.forbidden(P.paymentRead);
      const ctx = runtime.context(actor, request.id);
      const receipt = await receiptOf(ctx, (request.params as { id: string }).id);
      const pdf = await receiptPdf(receipt);
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${receipt.receiptNo}.pdf"`).send(pdf);
    },
  );
}
