import { KernelErrors, SevaError } from '../../kernel/index.js';

/** The identity module's error catalogue (see README.md). */
export const IdentityErrors = {
  tenantExists: (code: string) => new SevaError('TENANT_EXISTS', 409, `Tenant ${code} already exists`, [{ path: 'body.code', message: 'already exists' }]),
  parentTenantMissing: (parent: string) =>
    new SevaError('PARENT_TENANT_NOT_FOUND', 422, `The parent tenant ${parent} does not exist`, [{ path: 'body.code', message: `parent tenant ${parent} does not exist` }]),
  tenantNotFound: (path = 'tenant') => new SevaError('TENANT_NOT_FOUND', 404, 'No such tenant', [{ path, message: 'no such tenant' }]),
  staleVersion: () => KernelErrors.conflict('The record changed since it was read; read it again and retry'),
  roleExists: (code: string) => new SevaError('ROLE_EXISTS', 409, `Role ${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  roleNotFound: (index: number, role: string) =>
    new SevaError('ROLE_NOT_FOUND', 422, `Role ${role} is not defined for that tenant`, [{ path: `body.roles.${index}.role`, message: 'no such role for that tenant' }]),
  usernameTaken: () => new SevaError('USERNAME_TAKEN', 409, 'That username is already taken in this tenant', [{ path: 'body.username', message: 'already taken' }]),
  weakPassword: (message: string) => KernelErrors.validation([{ path: 'body.password', message }], 'The password does not meet the policy'),
  userNotFound: () => KernelErrors.notFound('user'),
};

/** OAuth 2.0 errors (RFC 6749 §5.2) as problem details that also carry `error`/`error_description`. */
export const OAuthErrors = {
  invalidGrant: (description = 'The credentials or the refresh token are not valid') => oauth('INVALID_GRANT', 'invalid_grant', description),
  invalidRequest: (description: string, errors?: Array<{ path: string; message: string }>) =>
    oauth('INVALID_REQUEST', 'invalid_request', description, errors),
  unsupportedGrantType: () => oauth('UNSUPPORTED_GRANT_TYPE', 'unsupported_grant_type', 'Supported grant types: password, refresh_token'),
};

function oauth(code: string, error: string, description: string, errors?: Array<{ path: string; message: string }>): SevaError {
  return new SevaError(code, 400, description, errors, { error, error_description: description });
}

/** Second factor and client errors (TOTP, mfa_otp grant, client_credentials). */
export const SecondFactorErrors = {
  totpAlreadyEnabled: () => new SevaError('TOTP_ALREADY_ENABLED', 409, 'TOTP is already enabled for this account; disable it first'),
  totpNotEnrolled: () => new SevaError('TOTP_NOT_ENROLLED', 409, 'Start with POST /mfa/totp/enrol'),
  totpNotEnabled: () => new SevaError('TOTP_NOT_ENABLED', 409, 'TOTP is not enabled for this account'),
  totpCodeInvalid: () => new SevaError('TOTP_CODE_INVALID', 422, 'The one-time code is not valid', [{ path: 'body.code', message: 'not a current code' }]),
  mfaRequired: (mfaToken: string) =>
    new SevaError('MFA_REQUIRED', 400, 'A second factor is required: use grant_type=mfa_otp with this mfa_token', undefined, {
      error: 'mfa_required',
      error_description: 'A second factor is required',
      mfa_token: mfaToken,
    }),
  invalidClient: () =>
    new SevaError('INVALID_CLIENT', 401, 'The client is unknown, disabled, or its secret is wrong', undefined, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    }),
};

/** Staff (departments, designations, assignments) errors. */
export const StaffErrors = {
  exists: (table: 'departments' | 'designations', code: string) =>
    new SevaError(table === 'departments' ? 'DEPARTMENT_EXISTS' : 'DESIGNATION_EXISTS', 409, `${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  notFound: (what: 'department' | 'designation', code: string) =>
    new SevaError(what === 'department' ? 'DEPARTMENT_NOT_FOUND' : 'DESIGNATION_NOT_FOUND', 422, `No ${what} ${code} for the employee's tenant`, [{ path: `body.${what}`, message: `no such ${what}` }]),
};
