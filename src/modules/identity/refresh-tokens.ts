import { createHash, randomBytes } from 'node:crypto';
import { newId, type TxContext } from '../../kernel/index.js';
import { REFRESH_TOKEN_SECONDS } from './token-settings.js';

/** How every bearer secret of this module (refresh, MFA and recovery codes) is stored: a copy of the table lets nobody sign in. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export const hashRefreshToken = hashSecret;

/** A new opaque refresh token in `familyId` (a new family when absent); returns the token itself. */
export async function storeRefreshToken(tx: TxContext, userId: string, scope: string | null, familyId = newId('rtf')): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await tx.db
    .insertInto('refresh_tokens')
    .values({
      token_hash: hashRefreshToken(token),
      family_id: familyId,
      user_id: userId,
      scope,
      status: 'active',
      expires_at: new Date(Date.now() + REFRESH_TOKEN_SECONDS * 1000),
    })
    .execute();
  return token;
}

/** Ends every token of a family (reuse detected, or logout). */
export async function revokeFamily(tx: TxContext, familyId: string): Promise<void> {
  await tx.db.updateTable('refresh_tokens').set({ status: 'revoked' }).where('family_id', '=', familyId).where('status', '!=', 'revoked').execute();
}
