import { defineOperation, z, type JobDef, type OperationContext } from '../../kernel/index.js';
import { keysChanged, lockActiveKey, newSigningKey } from './signing-keys.js';
import { KEY_ROTATION_SCHEDULE } from './token-settings.js';

export const KEY_ROTATE_PERMISSION = 'identity.key.rotate';

const rotationOut = z.object({ kid: z.string(), retired: z.string().nullable() });

/**
 * Makes a new active signing key and retires the previous one. New tokens carry the new `kid`;
 * the retired key stays in the JWKS until the last token it signed has expired.
 */
export async function rotateSigningKey(ctx: OperationContext): Promise<z.input<typeof rotationOut>> {
  const key = await newSigningKey(ctx);
  return ctx.transaction(async (tx) => {
    const previous = await lockActiveKey(tx);
    if (previous) {
      await tx.db.updateTable('signing_keys').set({ status: 'retired', retired_at: new Date() }).where('kid', '=', previous.kid).execute();
    }
    await tx.db.insertInto('signing_keys').values({ ...key, status: 'active' }).execute();
    await tx.audit({ action: 'identity.key.rotated', entityType: 'signing_key', entityId: key.kid, tenantId: null, data: { retired: previous?.kid ?? null } });
    keysChanged();
    return { kid: key.kid, retired: previous?.kid ?? null };
  });
}

export const keyRotationOperations = {
  rotateSigningKey: defineOperation({
    summary: 'Make a new signing key and retire the active one',
    permission: KEY_ROTATE_PERMISSION,
    http: { method: 'POST', path: '/signing-keys/rotate', status: 200 },
    input: z.object({}),
    output: rotationOut,
    handler: (ctx) => rotateSigningKey(ctx),
  }),
};

export const keyRotationJobs: Record<string, JobDef> = {
  rotateSigningKey: { schedule: KEY_ROTATION_SCHEDULE, handler: async (ctx) => void (await rotateSigningKey(ctx)) },
};
