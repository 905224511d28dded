import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '../../kernel/index.js';

/** Lifetimes and names shared by the token issuer and its verifier. */
export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 60 * 60;
/** The kernel verifies tokens in every process, so it owns these two names. */
export const ISSUER = ACCESS_TOKEN_ISSUER;
export const AUDIENCE = ACCESS_TOKEN_AUDIENCE;
export const MAX_FAILED_LOGINS = 5;
export const LOCK_SECONDS = 15 * 60;
/** Every signed-in user holds this, whatever their roles: it lets them end their own session. */
export const SESSION_PERMISSION = 'identity.session.logout';
/** Clock skew allowed to verifiers: a retired key stays in the JWKS this long past its last token's expiry. */
export const RETIRED_KEY_SKEW_SECONDS = 60;
/** When the signing key is rotated (cron, UTC): 03:00 on the first of every month. */
export const KEY_ROTATION_SCHEDULE = '0 3 1 * *';
