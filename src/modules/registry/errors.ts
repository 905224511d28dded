import { KernelErrors, SevaError, type FieldProblem } from '../../kernel/index.js';

/** The registry module's error catalogue (see README.md). */
export const RegistryErrors = {
  staleVersion: () => KernelErrors.conflict('The record changed since it was read; read it again and retry'),

  registryExists: (code: string) =>
    new SevaError('REGISTRY_EXISTS', 409, `Registry ${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  registryNotFound: (code: string, path = 'registry') => new SevaError('REGISTRY_NOT_FOUND', 404, `No registry ${code} in this tenant`, [{ path, message: 'no such registry' }]),
  definitionInvalid: (errors: FieldProblem[]) =>
    new SevaError('REGISTRY_DEFINITION_INVALID', 400, `The registry definition is not usable: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors),
  registryVersionMismatch: (code: string, asked: string, current: number) =>
    new SevaError('REGISTRY_VERSION_MISMATCH', 404, `Registry ${code} is at version ${current}, not ${asked}`, [{ path: 'versionNumber', message: `current version is ${current}` }]),

  recordNotFound: () => new SevaError('REGISTRY_RECORD_NOT_FOUND', 404, 'No such record in this tenant'),
  recordInvalid: (errors: FieldProblem[]) => new SevaError('REGISTRY_RECORD_INVALID', 422, 'The record does not match the registry schema', errors),
  recordNotUnique: (field: string, path: string) =>
    new SevaError('REGISTRY_RECORD_NOT_UNIQUE', 409, `Another record already has this ${field}`, [{ path, message: 'must be unique in the registry' }]),
  recordState: (message: string) => new SevaError('REGISTRY_RECORD_STATE', 409, message),
  reasonRequired: () =>
    new SevaError('REGISTRY_REASON_REQUIRED', 400, 'Reading PII in plain text needs a reason, which is written to the audit log', [{ path: 'reason', message: 'required with plain=true' }]),
  piiForbidden: () =>
    new SevaError('REGISTRY_PII_FORBIDDEN', 403, 'Reading PII in plain text needs the permission registry.record.pii.read', [{ path: 'plain', message: 'not allowed for this caller' }], { permission: 'registry.record.pii.read' }),
  dataOrChanges: () =>
    new SevaError('VALIDATION_FAILED', 400, 'Send either data (the whole record) or changes (fields to set; null removes a field)', [{ path: 'body.changes', message: 'exactly one of data and changes' }]),
  searchInvalid: (path: string, message: string) => new SevaError('REGISTRY_SEARCH_INVALID', 400, message, [{ path, message }]),
  badCursor: () => new SevaError('REGISTRY_SEARCH_INVALID', 400, 'The cursor is not one this search returned', [{ path: 'cursor', message: 'not a valid cursor' }]),

  candidateNotFound: () => new SevaError('REGISTRY_DUPLICATE_NOT_FOUND', 404, 'This record has no such duplicate candidate'),
  alreadyDecided: (decision: string) => new SevaError('REGISTRY_DUPLICATE_DECIDED', 409, `This candidate was already decided (${decision})`),

  importUnreadable: (message: string) =>
    new SevaError('REGISTRY_IMPORT_UNREADABLE', 400, `The content cannot be read: ${message}`, [{ path: 'content', message }]),
  importRejected: (errors: FieldProblem[], rows: unknown[]) =>
    new SevaError('REGISTRY_IMPORT_REJECTED', 422, 'Some rows are not valid; nothing was imported', errors, { rows }),

  govstackBadRequest: (message: string, errors: FieldProblem[] = []) => new SevaError('REGISTRY_GOVSTACK_BAD_REQUEST', 400, message, errors),
  govstackClientMissing: () =>
    new SevaError('REGISTRY_GOVSTACK_CLIENT_MISSING', 400, 'GovStack calls name the calling system in the Information-Mediator-Client header', [
      { path: 'headers.information-mediator-client', message: 'required (INSTANCE/CLASS/MEMBER/SUBSYSTEM)' },
    ]),
};
