import { defineOperation, z } from '../../kernel/index.js';
import type { CredentialsState } from './state.js';
import { displayIn, json, keyOut, tenantId, typeOut } from './operation-schemas.js';
import { listKeys, retireKey, rotateKey } from './keys.js';
import { CRYPTOSUITES } from './signing.js';
import { createType, listTypes, setDisplay } from './types.js';

/** Setting up an issuer: credential types with their display templates, and signing keys. */
export function issuerOperations(state: CredentialsState) {
  return {
    createType: defineOperation({
      summary: 'Define a credential type: claims JSON Schema, VC type, validity period',
      permission: 'credentials.type.manage',
      http: { method: 'POST', path: '/types' },
      input: z.object({
        tenantId,
        code: z.string().regex(/^[a-z][a-z0-9_.-]{1,63}$/, 'lowercase letters, digits, _ . -'),
        name: z.string().min(1).max(200),
        vcType: z.string().regex(/^[A-Z][A-Za-z0-9]{1,63}$/, 'a PascalCase term such as VaccinationCertificate'),
        claimsSchema: json,
        validityDays: z.number().int().min(1).max(36_500).nullable().default(null),
        cryptosuite: z.enum(CRYPTOSUITES).default('eddsa-jcs-2022'),
        display: displayIn.default({}),
      }),
      output: typeOut,
      handler: (ctx, input) => createType(ctx, input),
    }),
    setDisplay: defineOperation({
      summary: 'Replace a credential type’s display templates (per locale), used for PDF certificates',
      permission: 'credentials.type.manage',
      http: { method: 'PUT', path: '/types/:code/display', status: 200 },
      input: z.object({ tenantId, code: z.string().min(1).max(64), display: displayIn }),
      output: typeOut,
      handler: (ctx, input) => setDisplay(ctx, input),
    }),
    listTypes: defineOperation({
      summary: 'List the credential types of a tenant',
      permission: 'credentials.issue',
      http: { method: 'GET', path: '/types' },
      input: z.object({ tenantId }),
      output: z.object({ items: z.array(typeOut) }),
      handler: async (ctx, input) => ({ items: await listTypes(ctx, input.tenantId) }),
    }),
    rotateKey: defineOperation({
      summary: 'Make a new signing key for a tenant; the previous one stops signing but still verifies',
      permission: 'credentials.key.rotate',
      http: { method: 'POST', path: '/keys/rotate', status: 200 },
      input: z.object({ tenantId }),
      output: z.object({ kid: z.string(), rotated: z.string().nullable() }),
      handler: (ctx, input) => rotateKey(state, ctx, input.tenantId),
    }),
    retireKey: defineOperation({
      summary: 'Withdraw a rotated key from the DID document and trust list: what it signed stops verifying',
      permission: 'credentials.key.rotate',
      http: { method: 'POST', path: '/keys/:kid/retire', status: 200 },
      input: z.object({ tenantId, kid: z.string().min(1).max(64) }),
      output: z.object({ kid: z.string(), status: z.literal('retired') }),
      handler: (ctx, input) => retireKey(state, ctx, input.tenantId, input.kid),
    }),
    listKeys: defineOperation({
      summary: 'List a tenant’s signing keys (public halves) with their status',
      permission: 'credentials.key.rotate',
      http: { method: 'GET', path: '/keys' },
      input: z.object({ tenantId }),
      output: z.object({ items: z.array(keyOut) }),
      handler: async (ctx, input) => ({ items: await listKeys(ctx, input.tenantId) }),
    }),
  };
}
