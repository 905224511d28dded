import { KernelErrors, SevaError, type FieldProblem } from '../../kernel/index.js';

/** The workflow module's error catalogue (see README.md). */
export const WorkflowErrors = {
  definitionInvalid: (errors: FieldProblem[]) =>
    new SevaError('WORKFLOW_DEFINITION_INVALID', 422, `The workflow definition has ${errors.length} problem(s)`, errors),
  definitionNotFound: () => new SevaError('WORKFLOW_DEFINITION_NOT_FOUND', 404, 'No workflow definition with that code for the tenant or above'),
  processNotFound: () => KernelErrors.notFound('process'),
  processExists: () =>
    new SevaError('WORKFLOW_PROCESS_EXISTS', 409, 'A process for that service and business id exists in this tenant', [{ path: 'body.businessId', message: 'already has a process' }]),
  processClosed: () => new SevaError('WORKFLOW_PROCESS_CLOSED', 409, 'The process has reached a terminal state'),
  actionUnknown: (action: string, state: string) =>
    new SevaError('WORKFLOW_ACTION_UNKNOWN', 422, `No action ${action} from state ${state}`, [{ path: 'body.action', message: `not available in state ${state}` }]),
  actionNotAllowed: (action: string) =>
    new SevaError('WORKFLOW_ACTION_NOT_ALLOWED', 403, `None of your roles may take the action ${action}`, undefined, { action }),
  guardFailed: (action: string) =>
    new SevaError('WORKFLOW_GUARD_FAILED', 422, `The condition of ${action} does not hold for this record`, [{ path: 'body.action', message: 'condition not met' }]),
  requirementsMissing: (errors: FieldProblem[]) => new SevaError('WORKFLOW_REQUIREMENTS_MISSING', 422, 'Required fields or documents are missing', errors),
  staleVersion: () => KernelErrors.conflict('The process changed since it was read (another action won); read it again'),
  claimedByOther: (by: string) => new SevaError('WORKFLOW_PROCESS_CLAIMED', 409, 'Another employee has claimed this record', undefined, { claimedBy: by }),
  notClaimer: () => new SevaError('WORKFLOW_NOT_CLAIMED_BY_YOU', 409, 'The record is not claimed by you; a supervisor may reassign it'),
  assigneeNotEligible: () =>
    new SevaError('WORKFLOW_ASSIGNEE_NOT_ELIGIBLE', 422, 'The assignee does not hold the role or jurisdiction for this record', [{ path: 'body.assignee', message: 'not eligible' }]),
  boundaryUnknown: () => new SevaError('WORKFLOW_BOUNDARY_UNKNOWN', 422, 'No such boundary for the tenant', [{ path: 'body.boundary', message: 'no such boundary' }]),
  cursorInvalid: () => KernelErrors.validation([{ path: 'query.cursor', message: 'not a cursor this inbox gave' }]),
};
