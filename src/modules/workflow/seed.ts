import { isSevaError, type OperationContext } from '../../kernel/index.js';
import { DEMO_HOLIDAYS, GRIEVANCE, HOLIDAY_DEFINITION, TRADE_LICENCE } from './demo-definitions.js';
import { HOLIDAY_SCHEMA } from './lookups.js';

async function once(ctx: OperationContext, module: string, operation: string, input: object): Promise<void> {
  try {
    await ctx.call(module, operation, input);
  } catch (err) {
    if (!(isSevaError(err) && err.status === 409)) throw err;
  }
}

/** The holiday calendar (schema and national holidays) and the trade-licence and grievance workflows. */
export async function seedWorkflowDemo(ctx: OperationContext): Promise<void> {
  await once(ctx, 'reference', 'defineSchema', { tenantId: 'in', code: HOLIDAY_SCHEMA, description: 'Days off for business-day SLAs, keyed by date', definition: HOLIDAY_DEFINITION });
  for (const h of DEMO_HOLIDAYS) await once(ctx, 'reference', 'createRecord', { tenantId: 'in', schema: HOLIDAY_SCHEMA, key: h.date, data: h });
  for (const definition of [TRADE_LICENCE, GRIEVANCE]) {
    // A second `seva seed --demo` keeps the version there instead of adding an identical one.
    const exists = await ctx.db.selectFrom('definitions').select('id').where('tenant_id', '=', 'in').where('code', '=', definition.code).executeTakeFirst();
    if (!exists) await ctx.call('workflow', 'defineWorkflow', { tenantId: 'in', definition });
  }
}
