/**
 * The files module's permissions. The `file` ones cover one's own files; the `any` ones widen
 * reading and deleting to every file of the holder's tenant and below (staff). A citizen holds
 * only the former, so "a citizen sees only their own files" needs no notion of user kinds.
 */
export const FilesPermissions = {
  upload: 'files.file.upload',
  read: 'files.file.read',
  delete: 'files.file.delete',
  attach: 'files.file.attach',
  readAny: 'files.any.read',
  deleteAny: 'files.any.delete',
  manageLimits: 'files.limits.manage',
} as const;
