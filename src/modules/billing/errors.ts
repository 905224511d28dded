import { KernelErrors, SevaError, type FieldProblem } from '../../kernel/index.js';

/** The billing module's error catalogue (see README.md). */
export const BillingErrors = {
  notFound: (what: string) => KernelErrors.notFound(what),
  taxHeadUnknown: (code: string, path: string) =>
    new SevaError('BILLING_TAX_HEAD_UNKNOWN', 422, `No tax head ${code} for this service and tenant`, [{ path, message: `unknown tax head ${code}` }]),
  taxHeadExists: () => new SevaError('BILLING_TAX_HEAD_EXISTS', 409, 'That tax head exists for this service and tenant', [{ path: 'body.code', message: 'exists' }]),
  feeRuleInvalid: (errors: FieldProblem[]) => new SevaError('BILLING_FEE_RULE_INVALID', 422, `The fee rule has ${errors.length} problem(s)`, errors),
  feeRuleNotFound: () => new SevaError('BILLING_FEE_RULE_NOT_FOUND', 404, 'No fee rule for that service at the tenant or above'),
  feeInputMissing: (errors: FieldProblem[]) => new SevaError('BILLING_FEE_INPUT_INVALID', 422, 'The fee rule needs values the data does not give', errors),
  feeNotComputable: (path: string, message: string) => new SevaError('BILLING_FEE_INPUT_INVALID', 422, 'The fee could not be computed from the data', [{ path, message }]),
  demandExists: () =>
    new SevaError('BILLING_DEMAND_EXISTS', 409, 'A demand for that service, consumer code and period exists', [{ path: 'body.consumerCode', message: 'already has a demand for this period' }]),
  stale: () => KernelErrors.conflict('The record changed since it was read; read it again'),
  demandClosed: (status: string) => new SevaError('BILLING_DEMAND_CLOSED', 409, `The demand is ${status}`),
  nothingDue: () => new SevaError('BILLING_NOTHING_DUE', 409, 'Nothing is due on this demand'),
  adjustmentTooLarge: (path: string) =>
    new SevaError('BILLING_ADJUSTMENT_INVALID', 422, 'The adjustment would make a line negative or below what was collected', [{ path, message: 'too large' }]),
  billExpired: () => new SevaError('BILLING_BILL_EXPIRED', 409, 'The bill has expired; fetch a fresh bill (penalties may have changed)'),
  billNotPayable: (status: string) => new SevaError('BILLING_BILL_NOT_PAYABLE', 409, `The bill is ${status}`),
  partialNotAllowed: (minimum: number) =>
    new SevaError('BILLING_PARTIAL_NOT_ALLOWED', 422, 'This bill must be paid in full', [{ path: 'body.amount', message: `must be ${minimum}` }]),
  amountInvalid: (message: string) => new SevaError('BILLING_AMOUNT_INVALID', 422, message, [{ path: 'body.amount', message }]),
  currencyMismatch: () => new SevaError('BILLING_CURRENCY_MISMATCH', 422, 'The currency differs from the bill’s', [{ path: 'body.currency', message: 'not the bill’s currency' }]),
  instrumentMissing: (path: string, mode: string) =>
    new SevaError('BILLING_INSTRUMENT_INVALID', 422, `A ${mode} payment needs its instrument details`, [{ path, message: `required for ${mode}` }]),
  idempotencyConflict: () =>
    new SevaError('BILLING_IDEMPOTENCY_CONFLICT', 409, 'That idempotency key was used for a different payment', [{ path: 'body.idempotencyKey', message: 'used for another payment' }]),
  dayClosed: (date: string) => new SevaError('BILLING_DAY_CLOSED', 409, `The counter day ${date} is closed for this cashier`),
  paymentNotCancellable: (why: string) => new SevaError('BILLING_PAYMENT_NOT_CANCELLABLE', 409, why),
  refundTooLarge: (left: number) =>
    new SevaError('BILLING_REFUND_TOO_LARGE', 422, `At most ${left} minor units can be refunded`, [{ path: 'body.amount', message: `at most ${left}` }]),
  paymentNotRefundable: (status: string) => new SevaError('BILLING_PAYMENT_NOT_REFUNDABLE', 409, `A ${status} payment cannot be refunded`),
  gatewayNotConfigured: () => new SevaError('BILLING_GATEWAY_NOT_CONFIGURED', 503, 'Online payments are not configured (SEVA_PAYMENT_GATEWAY_URL and its secrets)'),
  gatewayFailed: (reason: string) => new SevaError('BILLING_GATEWAY_FAILED', 502, `The payment gateway did not accept the request: ${reason}`),
  signatureInvalid: (reason: string) => new SevaError('BILLING_SIGNATURE_INVALID', 401, `The gateway message is not authentic: ${reason}`),
  orderMismatch: (reason: string) => new SevaError('BILLING_ORDER_MISMATCH', 422, `The gateway message does not match the order: ${reason}`),
};
