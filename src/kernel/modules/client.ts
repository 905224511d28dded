import { KernelErrors, SevaError } from '../errors/seva-error.js';
import type { Actor } from './actor.js';
import type { OperationContext } from './define.js';
import type { InternalTokens } from './internal-token.js';
import { invokeOperation } from './invoke.js';
import type { ModulePlan } from './registry.js';

export const RPC_PREFIX = '/rpc';

/**
 * Calls another module's operation with the caller's actor: in process when the module runs
 * here, over HTTP when it runs elsewhere. Both paths pass the same gate (invokeOperation) and
 * fail with the same SevaError codes.
 */
export class ModuleClient {
  constructor(
    private readonly plan: ModulePlan,
    private readonly tokens: InternalTokens,
    private readonly contextFor: (module: string, actor: Actor, requestId: string) => OperationContext,
    private readonly timeoutMs = 30_000,
  ) {}

  async call(from: OperationContext, module: string, operation: string, input: unknown): Promise<unknown> {
    const def = this.plan.all.get(module);
    const op = def?.operations?.[operation];
    if (!def || !op) throw new SevaError('OPERATION_UNKNOWN', 500, `No operation ${module}.${operation}`);
    if (!(from.module === module || (this.plan.all.get(from.module)?.dependsOn ?? []).includes(module))) {
      throw new SevaError('MODULE_NOT_A_DEPENDENCY', 500, `Module ${from.module} calls ${module} without declaring it in dependsOn`);
    }
    if (this.plan.local.some((m) => m.name === module)) {
      return invokeOperation(op, this.contextFor(module, from.actor, from.requestId), input);
    }
    const url = this.plan.remote.get(module);
    if (!url) throw KernelErrors.moduleUnavailable(module, 'it does not run here and has no URL');
    return this.callRemote(url, module, operation, input, from);
  }

  private async callRemote(baseUrl: string, module: string, operation: string, input: unknown, from: OperationContext): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl.replace(/\/$/, '')}${RPC_PREFIX}/${module}/${operation}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-seva-actor': await this.tokens.sign(from.actor, from.requestId),
          'x-request-id': from.requestId,
        },
        body: JSON.stringify(input ?? {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw KernelErrors.moduleUnavailable(module, (err as Error).message);
    }
    const text = await response.text();
    const body = text ? safeJson(text) : undefined;
    if (response.ok) return body;
    const problem = (body ?? {}) as { code?: string; detail?: string; errors?: any[] };
    throw new SevaError(problem.code ?? 'MODULE_CALL_FAILED', response.status, problem.detail ?? `${module}.${operation} answered ${response.status}`, problem.errors);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
