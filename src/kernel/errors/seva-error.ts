export interface FieldProblem {
  /** Where the problem is, dotted from the request part: `body.name`, `query.limit`. */
  path: string;
  message: string;
}

/**
 * An expected failure with a stable code. HTTP adapters turn it into RFC 9457 problem details;
 * in-process callers can switch on `code`.
 */
export class SevaError extends Error {
  override name = 'SevaError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly errors?: FieldProblem[],
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The kernel's own catalogue; each module keeps its own in its errors.ts. */
export const KernelErrors = {
  validation: (errors: FieldProblem[], message = 'The request is not valid') =>
    new SevaError('VALIDATION_FAILED', 400, message, errors),
  malformedBody: (message: string) => new SevaError('MALFORMED_BODY', 400, message),
  unauthenticated: (message = 'Sign in first: this needs an access token') =>
    new SevaError('UNAUTHENTICATED', 401, message),
  forbidden: (permission: string) =>
    new SevaError('FORBIDDEN', 403, `Permission ${permission} is required`, undefined, { permission }),
  notFound: (what = 'resource') => new SevaError('NOT_FOUND', 404, `No such ${what}`),
  conflict: (message: string) => new SevaError('CONFLICT', 409, message),
  payloadTooLarge: (limit: number) =>
    new SevaError('PAYLOAD_TOO_LARGE', 413, `The request body is larger than ${limit} bytes`),
  unsupportedMediaType: (type: string) =>
    new SevaError('UNSUPPORTED_MEDIA_TYPE', 415, `Content type ${type} is not accepted here`),
  moduleUnavailable: (module: string, reason: string) =>
    new SevaError('MODULE_UNAVAILABLE', 503, `Module ${module} is unavailable: ${reason}`),
  notReady: (reason: string) => new SevaError('NOT_READY', 503, reason),
};

export function isSevaError(value: unknown): value is SevaError {
  return value instanceof SevaError;
}
