/**
 * What a file is for decides which content types it may have. The type is sniffed from the
 * bytes; the client's Content-Type header and file name are never trusted for it.
 */
export const PURPOSES = {
  'identity-proof': ['application/pdf', 'image/jpeg', 'image/png'],
  photo: ['image/jpeg', 'image/png'],
  document: ['application/pdf', 'image/jpeg', 'image/png'],
  receipt: ['application/pdf'],
  certificate: ['application/pdf'],
} as const satisfies Record<string, readonly string[]>;

export type Purpose = keyof typeof PURPOSES;

export const PURPOSE_NAMES = Object.keys(PURPOSES) as [Purpose, ...Purpose[]];

/** Content types that get a thumbnail. */
export const THUMBNAIL_SOURCES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png']);
