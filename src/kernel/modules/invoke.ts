import { KernelErrors, SevaError } from '../errors/seva-error.js';
import { zodProblems } from '../errors/zod-problems.js';
import { can } from './actor.js';
import type { OperationContext, OperationDef } from './define.js';
import { checkTenantScope } from './tenant-scope.js';

/**
 * The single gate every call of an operation passes, whatever the transport: input validation,
 * the permission check (deny by default), the tenant scope of the input, the handler, and the
 * output contract.
 */
export async function invokeOperation(
  op: OperationDef<any, any>,
  ctx: OperationContext,
  input: unknown,
  options: { validated?: boolean; inputPrefix?: string } = {},
): Promise<unknown> {
  if (!can(ctx.actor, op.permission)) {
    throw ctx.actor.kind === 'anonymous' ? KernelErrors.unauthenticated() : KernelErrors.forbidden(op.permission);
  }
  let parsedInput = input;
  if (!options.validated) {
    const parsed = op.input.safeParse(input ?? {});
    if (!parsed.success) throw KernelErrors.validation(zodProblems(parsed.error.issues, options.inputPrefix));
    parsedInput = parsed.data;
  }
  checkTenantScope(op, ctx.actor, parsedInput);
  const output = await op.handler(ctx, parsedInput);
  const checked = op.output.safeParse(output);
  if (!checked.success) {
    ctx.log.error({ issues: checked.error.issues }, 'operation returned output outside its contract');
    throw new SevaError('OUTPUT_CONTRACT_BROKEN', 500, 'The operation produced an invalid result');
  }
  return checked.data;
}
