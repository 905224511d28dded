import { KernelErrors, SevaError } from '../../kernel/index.js';

/** The credentials module's error catalogue (see README.md). */
export const CredentialErrors = {
  typeExists: (code: string) => new SevaError('CREDENTIAL_TYPE_EXISTS', 409, `Credential type ${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  typeSchemaInvalid: (message: string) =>
    new SevaError('CREDENTIAL_TYPE_SCHEMA_INVALID', 422, `The claims schema is not valid JSON Schema: ${message}`, [{ path: 'body.claimsSchema', message }]),
  typeNotFound: (code: string) => new SevaError('CREDENTIAL_TYPE_NOT_FOUND', 422, `No credential type ${code} in this tenant`, [{ path: 'body.type', message: 'no such credential type' }]),
  claimsInvalid: (errors: Array<{ path: string; message: string }>) => new SevaError('CREDENTIAL_CLAIMS_INVALID', 422, 'The claims do not match the credential type', errors),
  validityInvalid: (message: string) => new SevaError('CREDENTIAL_VALIDITY_INVALID', 422, message, [{ path: 'body.validUntil', message }]),
  sourceConflict: () =>
    new SevaError('CREDENTIAL_SOURCE_CONFLICT', 409, 'A credential was already issued for this source reference with other claims; revoke it and issue a correction', [
      { path: 'body.sourceRef', message: 'already issued with other claims' },
    ]),
  credentialNotFound: () => KernelErrors.notFound('credential'),
  statusChangeNotAllowed: (from: string, to: string) =>
    new SevaError('CREDENTIAL_STATUS_CHANGE_NOT_ALLOWED', 409, `A ${from} credential cannot become ${to}`, [{ path: 'id', message: `credential is ${from}` }]),
  keyNotFound: () => KernelErrors.notFound('signing key'),
  keyActive: () => new SevaError('CREDENTIAL_KEY_ACTIVE', 409, 'The active key cannot be retired; rotate first', [{ path: 'kid', message: 'is the active key' }]),
  issuerNotFound: () => KernelErrors.notFound('issuer'),
  statusListNotFound: () => KernelErrors.notFound('status list'),
  qrInvalid: (message: string) => new SevaError('CREDENTIAL_QR_INVALID', 400, `The QR payload cannot be read: ${message}`, [{ path: 'body.qr', message }]),
};
