import { hkdfSync } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { copyActor, VerifiedTokenCache } from '../http/jwt-verifier.js';
import type { Actor } from './actor.js';

const AUDIENCE = 'seva-internal';

/**
 * Module-to-module calls carry the caller's actor in a short-lived token signed with a key
 * derived from the master key, which every process of one deployment shares.
 */
export class InternalTokens {
  private readonly key: Uint8Array;

  constructor(masterKey: Buffer) {
    this.key = new Uint8Array(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'seva-internal-rpc', 32));
  }

  sign(actor: Actor, requestId: string): Promise<string> {
    return new SignJWT({ act: actor, rid: requestId })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(this.key);
  }

  /**
   * A caller (another process of the deployment, a job runner) sends one token for its whole
   * life; checking it again, with jose's parsing and key import, was a tenth of a small request.
   */
  private readonly verified = new VerifiedTokenCache<{ actor: Actor; requestId: string }>(10_000, (v) => ({ actor: copyActor(v.actor), requestId: v.requestId }));

  verify(token: string): Promise<{ actor: Actor; requestId: string } | undefined> {
    return this.verified.through(token, () => this.check(token));
  }

  private async check(token: string): Promise<{ actor: Actor; requestId: string } | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, { audience: AUDIENCE, algorithms: ['HS256'] });
      const actor = payload.act as Actor | undefined;
      if (!actor || typeof actor.id !== 'string' || !Array.isArray(actor.permissions)) return undefined;
      return { actor, requestId: String(payload.rid ?? '') };
    } catch {
      return undefined;
    }
  }
}
