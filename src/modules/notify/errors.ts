import { KernelErrors, SevaError, type FieldProblem } from '../../kernel/index.js';

/** The notify module's error catalogue (see README.md). */
export const NotifyErrors = {
  templateInvalid: (path: string, message: string) => new SevaError('NOTIFY_TEMPLATE_INVALID', 400, `The template is not valid: ${message}`, [{ path, message }]),
  templateNotFound: (code: string, channel: string, path = 'body.template') =>
    new SevaError('NOTIFY_TEMPLATE_NOT_FOUND', 422, `No ${channel} template ${code} for the tenant, its parents or the default locale`, [{ path, message: 'no such template' }]),
  variablesMissing: (missing: string[], prefix = 'body.values') =>
    new SevaError(
      'NOTIFY_TEMPLATE_VARIABLES_MISSING',
      422,
      `The template needs values for: ${missing.join(', ')}`,
      missing.map((name): FieldProblem => ({ path: `${prefix}.${name}`, message: 'missing' })),
    ),
  recipientInvalid: (path: string, message: string) => new SevaError('NOTIFY_RECIPIENT_INVALID', 422, `A recipient cannot be reached: ${message}`, [{ path, message }]),
  eventNotSubscribable: (event: string, known: readonly string[]) =>
    new SevaError('NOTIFY_EVENT_NOT_SUBSCRIBABLE', 422, `Event ${event} is not one notify listens to (${known.join(', ')})`, [{ path: 'body.event', message: 'not a subscribable event' }]),
  subscriptionNotFound: () => new SevaError('NOTIFY_SUBSCRIPTION_NOT_FOUND', 404, 'No such subscription'),
  messageNotFound: () => new SevaError('NOTIFY_MESSAGE_NOT_FOUND', 404, 'No such message'),
  receiptUnauthenticated: (why: string) => new SevaError('NOTIFY_RECEIPT_UNAUTHENTICATED', 401, `The delivery receipt is not authentic: ${why}`),
  receiptReplayed: () => new SevaError('NOTIFY_RECEIPT_REPLAYED', 409, 'This delivery receipt was already received'),
  receiptsDisabled: () => new SevaError('NOTIFY_RECEIPTS_DISABLED', 503, 'Delivery receipts need SEVA_SMS_WEBHOOK_SECRET'),
  batchInvalid: (path: string, message: string) => new SevaError('NOTIFY_BATCH_INVALID', 400, `The batch is not valid: ${message}`, [{ path, message }]),
  staleVersion: () => KernelErrors.conflict('The subscription changed since it was read; read it again and retry'),
  requestNotFound: () => new SevaError('NOTIFY_REQUEST_NOT_FOUND', 404, 'No request with that requestUid'),
};
