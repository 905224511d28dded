import { KernelErrors, SevaError, type FieldProblem } from '../../kernel/index.js';

/** The reference module's error catalogue (see README.md). */
export const ReferenceErrors = {
  staleVersion: () => KernelErrors.conflict('The record changed since it was read; read it again and retry'),

  schemaExists: (code: string) =>
    new SevaError('MASTERDATA_SCHEMA_EXISTS', 409, `Schema ${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  schemaNotFound: (code: string, path: string) =>
    new SevaError('MASTERDATA_SCHEMA_NOT_FOUND', 404, `No schema ${code} for this tenant or the tenants above it`, [{ path, message: 'no such schema' }]),
  schemaInvalid: (message: string) =>
    new SevaError('MASTERDATA_SCHEMA_INVALID', 400, `The definition is not a usable JSON Schema: ${message}`, [{ path: 'body.definition', message }]),
  recordInvalid: (errors: FieldProblem[]) => new SevaError('MASTERDATA_RECORD_INVALID', 422, 'The record does not match its schema', errors),
  recordExists: (key: string) =>
    new SevaError('MASTERDATA_RECORD_EXISTS', 409, `A record with key ${key} already exists in this tenant`, [{ path: 'body.key', message: 'already exists' }]),
  recordNotFound: (key: string) => new SevaError('MASTERDATA_RECORD_NOT_FOUND', 404, `No record ${key} for this tenant or the tenants above it`),
  importRejected: (errors: FieldProblem[], rows: unknown[]) =>
    new SevaError('MASTERDATA_IMPORT_REJECTED', 422, 'Some rows are not valid; nothing was imported', errors, { rows }),
  importUnreadable: (message: string) =>
    new SevaError('MASTERDATA_IMPORT_UNREADABLE', 400, `The content cannot be read: ${message}`, [{ path: 'body.content', message }]),

  messageNotFound: () => new SevaError('LOCALIZATION_MESSAGE_NOT_FOUND', 404, 'No such message in this tenant and locale'),

  hierarchyExists: (code: string) =>
    new SevaError('BOUNDARY_HIERARCHY_EXISTS', 409, `Hierarchy ${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  hierarchyNotFound: (code: string, path: string) =>
    new SevaError('BOUNDARY_HIERARCHY_NOT_FOUND', 422, `No hierarchy ${code} for this tenant or the tenants above it`, [{ path, message: 'no such hierarchy' }]),
  levelUnknown: (level: string, levels: readonly string[]) =>
    new SevaError('BOUNDARY_LEVEL_UNKNOWN', 422, `Level ${level} is not one of ${levels.join(', ')}`, [{ path: 'body.level', message: 'not a level of the hierarchy' }]),
  boundaryExists: (code: string) =>
    new SevaError('BOUNDARY_EXISTS', 409, `Boundary ${code} already exists in this tenant and hierarchy`, [{ path: 'body.code', message: 'already exists' }]),
  boundaryNotFound: () => new SevaError('BOUNDARY_NOT_FOUND', 404, 'No such boundary for this tenant or the tenants above it'),
  parentNotFound: (parent: string) =>
    new SevaError('BOUNDARY_PARENT_NOT_FOUND', 422, `No boundary ${parent} in this hierarchy for this tenant or above`, [{ path: 'body.parent', message: 'no such boundary' }]),
  parentLevel: (message: string) => new SevaError('BOUNDARY_PARENT_LEVEL', 422, message, [{ path: 'body.parent', message }]),
  cycle: (code: string, parent: string) =>
    new SevaError('BOUNDARY_CYCLE', 422, `${parent} is ${code} itself or lies below it; a boundary cannot be its own ancestor`, [
      { path: 'body.parent', message: 'would make a cycle' },
    ]),
  rootNeedsTopLevel: (top: string) =>
    new SevaError('BOUNDARY_PARENT_REQUIRED', 422, `Only a boundary of the top level (${top}) may have no parent`, [{ path: 'body.parent', message: 'required below the top level' }]),

  idTemplateInvalid: (errors: FieldProblem[]) => new SevaError('ID_TEMPLATE_INVALID', 400, `The ID template is not valid: ${errors.map((e) => e.message).join('; ')}`, errors),
  idFormatExists: (code: string) =>
    new SevaError('ID_FORMAT_EXISTS', 409, `ID format ${code} already exists in this tenant`, [{ path: 'body.code', message: 'already exists' }]),
  idFormatNotFound: (code: string, path: string) =>
    new SevaError('ID_FORMAT_NOT_FOUND', 404, `No ID format ${code} for this tenant or the tenants above it`, [{ path, message: 'no such ID format' }]),
};
