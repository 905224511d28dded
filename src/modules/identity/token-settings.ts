/** Lifetimes and names shared by the token issuer and its verifier. */
export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 60 * 60;
export const ISSUER = 'seva';
export const AUDIENCE = 'seva-api';
export const MAX_FAILED_LOGINS = 5;
export const LOCK_SECONDS = 15 * 60;
/** Every signed-in user holds this, whatever their roles: it lets them end their own session. */
export const SESSION_PERMISSION = 'identity.session.logout';
