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

/**
 * An inline context for `eddsa-rdfc-2022` credentials: claims are data of each credential type,
 * not terms of a published vocabulary, so they map to the VC 2.0 "issuer-dependent" namespace
 * (the W3C's own IRI for terms an issuer defines). Inline: nothing to fetch. Without it RDF
 * canonicalization in safe mode refuses every claim the VC context does not define.
 */
export const ISSUER_DEPENDENT_CONTEXT = Object.freeze({ '@vocab': 'https://www.w3.org/ns/credentials/issuer-dependent#' });
