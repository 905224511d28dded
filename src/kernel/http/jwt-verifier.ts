import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Actor } from '../modules/actor.js';

/**
 * Access tokens as the whole platform reads them: the identity module signs them, and every
 * process verifies them the same way, with identity's keys in process or its JWKS over HTTP.
 * The claim names, issuer and audience live here once.
 */
export const ACCESS_TOKEN_ISSUER = 'seva';
export const ACCESS_TOKEN_AUDIENCE = 'seva-api';
export const ACCESS_TOKEN_ALG = 'EdDSA';
/** The module that issues access tokens, and where its public keys are served. */
export const TOKEN_ISSUER_MODULE = 'identity';
export const JWKS_PATH = '/.well-known/jwks.json';

const claims = z.object({ sub: z.string().min(1), tid: z.string().min(1), roles: z.array(z.string()), perms: z.array(z.string()) });

/** The actor an access token's claims stand for, or undefined when a claim is missing or malformed. */
export function actorFromClaims(payload: JWTPayload): Actor | undefined {
  const parsed = claims.safeParse(payload);
  if (!parsed.success) return undefined;
  return { kind: 'user', id: parsed.data.sub, tenantId: parsed.data.tid, roles: parsed.data.roles, permissions: parsed.data.perms };
}

/** The header's `kid` when the token claims our algorithm; undefined for anything else. */
export function accessTokenKid(token: string): string | undefined {
  try {
    const header = decodeProtectedHeader(token);
    return header.alg === ACCESS_TOKEN_ALG && typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

type KeySource = CryptoKey | Parameters<typeof jwtVerify>[1];

/** Verifies signature, `iss`, `aud` and `exp`, then maps the claims; undefined for any failure. */
export async function verifyAccessToken(token: string, key: KeySource): Promise<Actor | undefined> {
  try {
    const { payload } = await jwtVerify(token, key as CryptoKey, {
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      algorithms: [ACCESS_TOKEN_ALG],
      requiredClaims: ['exp', 'sub'],
    });
    return actorFromClaims(payload);
  } catch {
    // Malformed, expired, forged, or signed by a key the JWKS does not list.
    return undefined;
  }
}

/**
 * Tokens that already verified, by their exact text, until they expire: a client sends the same
 * token on every request, and the signature check is most of the cost of a trivial request. Only
 * successes are kept (a forged token is checked every time), and one cache belongs to one
 * verifier, so a token is never accepted on the strength of another issuer's key.
 */
export class VerifiedTokenCache<T = Actor> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  /** `copy` hands each caller its own value, so no caller can change what the next one gets. */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly copy: (value: T) => T = copyActor as unknown as (value: T) => T,
  ) {}

  get(token: string): T | undefined {
    const hit = this.entries.get(token);
    if (!hit) return undefined;
    if (hit.expiresAt <= Date.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return this.copy(hit.value);
  }

  /** Verifies through `verify` on a miss and remembers a success until the token's `exp`. */
  async through(token: string, verify: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = this.get(token);
    if (hit) return hit;
    const value = await verify();
    if (value) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(token, { value, expiresAt: expiryOf(token) });
    }
    return value && this.copy(value);
  }
}

export const copyActor = (actor: Actor): Actor => ({ ...actor, roles: [...actor.roles], permissions: [...actor.permissions] });

/** `exp` in ms of a token that has verified (so it has one). */
function expiryOf(token: string): number {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp?: number }).exp;
    return typeof exp === 'number' ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

export interface RemoteVerifierOptions {
  /**
   * Least time between two JWKS fetches caused by unknown kids (default 5 s): made-up kids cost
   * identity at most one request per this period, and a freshly rotated key is accepted here
   * within it.
   */
  cooldownSeconds?: number;
  /** A JWKS older than this is fetched again on the next token (default 10 min). */
  maxAgeSeconds?: number;
}

/**
 * Verifies access tokens in a process where identity does not run: its JWKS is fetched once,
 * kept in memory, and fetched again for an unknown `kid` (at most once per cooldown) or when stale.
 * No call to identity per request.
 */
export function remoteAccessTokenVerifier(identityUrl: string, options: RemoteVerifierOptions = {}): (token: string) => Promise<Actor | undefined> {
  const jwks = createRemoteJWKSet(new URL(JWKS_PATH, identityUrl.endsWith('/') ? identityUrl : `${identityUrl}/`), {
    cooldownDuration: (options.cooldownSeconds ?? 5) * 1000,
    cacheMaxAge: (options.maxAgeSeconds ?? 600) * 1000,
    timeoutDuration: 5000,
  });
  const cache = new VerifiedTokenCache();
  return async (token) => cache.through(token, async () => (accessTokenKid(token) ? verifyAccessToken(token, jwks) : undefined));
}
