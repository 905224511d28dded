import { KernelErrors, SevaError } from '../../kernel/index.js';

/** The files module's error catalogue (see README.md). */
export const FilesErrors = {
  fileNotFound: () => KernelErrors.notFound('file'),
  tooLarge: (limit: number) =>
    new SevaError('FILES_TOO_LARGE', 413, `The file is larger than this tenant's limit of ${limit} bytes`, undefined, { limit }),
  empty: () => new SevaError('FILES_EMPTY', 422, 'The file is empty'),
  contentTypeNotAllowed: (detected: string | undefined, purpose: string, allowed: readonly string[]) =>
    new SevaError(
      'FILES_CONTENT_TYPE_NOT_ALLOWED',
      415,
      `The content is ${detected ?? 'of an unrecognised type'}; a ${purpose} must be one of ${allowed.join(', ')}`,
      undefined,
      { detected: detected ?? null, allowed },
    ),
  imageUnreadable: () => new SevaError('FILES_IMAGE_UNREADABLE', 422, 'The image could not be decoded'),
  noFilePart: () => KernelErrors.validation([{ path: 'body', message: 'a multipart body with one file part is required' }], 'No file in the request'),
  contentCorrupted: () =>
    new SevaError('FILES_CONTENT_CORRUPTED', 500, 'The stored file does not match its checksum and is not served; the operators are told'),
  contentMissing: () => new SevaError('FILES_CONTENT_MISSING', 500, 'The stored file is missing and cannot be served; the operators are told'),
  attached: () => new SevaError('FILES_FILE_ATTACHED', 409, 'The file is attached to a record; detach it before deleting it'),
  attachedElsewhere: () => new SevaError('FILES_FILE_ATTACHED', 409, 'The file is already attached to another record'),
  urlExpired: () => new SevaError('FILES_URL_EXPIRED', 403, 'The download link has expired; ask for a new one'),
  urlInvalid: () => new SevaError('FILES_URL_INVALID', 403, 'The download link is not valid'),
  noThumbnail: () => new SevaError('FILES_NO_THUMBNAIL', 404, 'The file has no thumbnail (only images get one)'),
};
