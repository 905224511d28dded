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
  displayInvalid: (errors: Array<{ path: string; message: string }>) => new SevaError('CREDENTIAL_DISPLAY_INVALID', 422, 'The display template names unknown claims or does not parse', errors),
  credentialTypeMissing: () => KernelErrors.notFound('credential type'),
  mobileInvalid: (path: string) => new SevaError('CREDENTIAL_MOBILE_INVALID', 422, 'The mobile number is not a 10-digit Indian mobile', [{ path, message: 'a 10-digit mobile number such as 9876543210' }]),
  csvInvalid: (message: string) => new SevaError('CREDENTIAL_CSV_INVALID', 422, `The CSV cannot be read: ${message}`, [{ path: 'body.csv', message }]),
  bulkJobNotFound: () => KernelErrors.notFound('bulk job'),
  notLinkedToCitizen: () => KernelErrors.notFound('credential'),
  localeMissing: (locale: string) =>
    new SevaError('CREDENTIAL_DISPLAY_MISSING', 422, `The credential type has no display template for ${locale} or a fallback locale`, [{ path: 'locale', message: 'no display template' }]),
  qrInvalid: (message: string) => new SevaError('CREDENTIAL_QR_INVALID', 400, `The QR payload cannot be read: ${message}`, [{ path: 'body.qr', message }]),
};
