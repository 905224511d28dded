import credentialsV2 from './contexts/credentials-v2.json' with { type: 'json' };

/**
 * JSON-LD contexts bundled with Seva: issuance and verification never fetch one. The VC 2.0
 * context is the W3C file (https://www.w3.org/ns/credentials/v2, W3C Software and Document
 * License) as shipped by @digitalbazaar/credentials-context 3.2.0; its SHA-256 is pinned in the
 * tests, so an edit shows.
 */
export const VC_V2_CONTEXT_URL = 'https://www.w3.org/ns/credentials/v2';

export const BUNDLED_CONTEXTS: Readonly<Record<string, unknown>> = Object.freeze({ [VC_V2_CONTEXT_URL]: credentialsV2 });

/** A document loader for JSON-LD libraries: bundled contexts only, never the network. */
export function loadBundledContext(url: string): { contextUrl: null; documentUrl: string; document: unknown } {
  const document = BUNDLED_CONTEXTS[url];
  if (!document) throw new Error(`context ${url} is not bundled with Seva`);
  return { contextUrl: null, documentUrl: url, document };
}
