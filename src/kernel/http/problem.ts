import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { STATUS_CODES } from 'node:http';
import { KernelErrors, SevaError, type FieldProblem } from '../errors/seva-error.js';

export const PROBLEM_TYPE = 'application/problem+json';

/** RFC 9457 body; `code` is stable and documented per module, `errors` lists bad fields. */
export function problemBody(error: SevaError, request: FastifyRequest): Record<string, unknown> {
  return {
    type: `urn:seva:problem:${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    instance: request.url.split('?')[0],
    requestId: request.id,
    ...(error.errors ? { errors: error.errors } : {}),
    ...error.extra,
  };
}

/** Maps anything thrown while serving a request to a SevaError; unknown errors become a 500. */
export function toSevaError(error: unknown, bodyLimit: number): SevaError {
  if (error instanceof SevaError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const part = (error as { validationContext?: string }).validationContext;
    const problems: FieldProblem[] = error.validation.map((v) => {
      const path = [part, ...v.instancePath.split('/').filter(Boolean)].filter(Boolean).join('.');
      return { path: path || '(root)', message: v.message ?? 'invalid' };
    });
    return KernelErrors.validation(problems);
  }
  const fe = error as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return KernelErrors.payloadTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return KernelErrors.unsupportedMediaType(String(fe.message.split(': ').pop() ?? 'this'));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return KernelErrors.malformedBody('The body is empty but the content type says JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return KernelErrors.malformedBody('The body is not valid JSON');
  }
  if (fe.statusCode === 400 && error instanceof SyntaxError) return KernelErrors.malformedBody('The body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new SevaError(`HTTP_${fe.statusCode}`, fe.statusCode, fe.message);
  }
  return new SevaError('INTERNAL', 500, 'Something went wrong on our side; the request id helps the operators find it');
}

export function sendProblem(reply: FastifyReply, error: SevaError): FastifyReply {
  return reply.status(error.status).type(PROBLEM_TYPE).send(problemBody(error, reply.request));
}
