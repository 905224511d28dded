import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, actorFromClaims, VerifiedTokenCache, verifyAccessToken } from './jwt-verifier.js';

const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const sign = (claims: Record<string, unknown>, exp: number | string = '5m', iss = ACCESS_TOKEN_ISSUER) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'key_test' }).setSubject('usr_1').setIssuer(iss).setAudience(ACCESS_TOKEN_AUDIENCE).setIssuedAt().setExpirationTime(exp).sign(privateKey);
const claims = { tid: 'in.ka', roles: ['CLERK'], perms: ['pgr.complaint.read'] };

describe('access token verification', () => {
  it('maps the claims to a user actor', async () => {
    expect(await verifyAccessToken(await sign(claims), publicKey)).toEqual({ kind: 'user', id: 'usr_1', tenantId: 'in.ka', roles: ['CLERK'], permissions: ['pgr.complaint.read'] });
    expect(actorFromClaims({ sub: 'usr_1', tid: 'in', roles: [] })).toBeUndefined();
  });

  it('refuses another issuer, missing claims and expired tokens', async () => {
    expect(await verifyAccessToken(await sign(claims, '5m', 'elsewhere'), publicKey)).toBeUndefined();
    expect(await verifyAccessToken(await sign({ tid: 'in' }), publicKey)).toBeUndefined();
    expect(await verifyAccessToken(await sign(claims, Math.floor(Date.now() / 1000) - 5), publicKey)).toBeUndefined();
  });

  it('remembers a verified token until its exp, and never a failure', async () => {
    const cache = new VerifiedTokenCache();
    let checks = 0;
    const token = await sign(claims, Math.floor(Date.now() / 1000) + 1);
    const verify = () => (checks++, verifyAccessToken(token, publicKey));
    expect(await cache.through(token, verify)).toMatchObject({ id: 'usr_1' });
    expect(await cache.through(token, verify)).toMatchObject({ id: 'usr_1' });
    expect(checks).toBe(1);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await cache.through(token, verify)).toBeUndefined();
    expect(await cache.through(token, verify)).toBeUndefined();
    expect(checks).toBe(3);
  });
});
