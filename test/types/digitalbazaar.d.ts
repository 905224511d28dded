// The Digital Bazaar libraries ship no types; only what the interoperability test uses.
declare module '@digitalbazaar/vc' {
  export function issue(options: { credential: object; suite: unknown; documentLoader: (url: string) => Promise<unknown> }): Promise<any>;
  export function verifyCredential(options: { credential: object; suite: unknown; documentLoader: (url: string) => Promise<unknown>; checkStatus?: () => Promise<{ verified: boolean }> }): Promise<any>;
}
declare module '@digitalbazaar/data-integrity' {
  export class DataIntegrityProof {
    constructor(options: { cryptosuite: unknown; signer?: unknown });
  }
}
declare module '@digitalbazaar/eddsa-rdfc-2022-cryptosuite' {
  export const cryptosuite: unknown;
}
declare module '@digitalbazaar/ed25519-multikey' {
  export function generate(options: { controller: string }): Promise<{
    id: string;
    controller: string;
    signer(): unknown;
    export(options: { publicKey: boolean; includeContext: boolean }): Promise<{ publicKeyMultibase: string }>;
  }>;
}
