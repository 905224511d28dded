import { systemActor } from '../../src/kernel/index.js';
import { DEMO_FEE_RULE, DEMO_TAX_HEADS } from '../../src/modules/billing/demo-billing.js';
import type { TestRuntime } from './test-runtime.js';

export const CITY = 'in.ka.bengaluru';

/** Tenants, the receipt ID format and the trade-licence tax heads and fee rule, as the demo has them. */
export async function setUpBilling(t: TestRuntime, rule: object = DEMO_FEE_RULE): Promise<void> {
  const sys = t.runtime.contextFor('identity', systemActor('test'));
  for (const [code, name] of [['in', 'India'], ['in.ka', 'Karnataka'], [CITY, 'Bengaluru'], ['in.ka.mysuru', 'Mysuru']]) await sys.call('identity', 'createTenant', { code, name });
  const ref = t.runtime.contextFor('reference', systemActor('test'));
  await ref.call('reference', 'createIdFormat', { tenantId: 'in', code: 'billing.receipt', template: 'RCPT-[city]-[fy:yy-yy]-[seq:8]', timeZone: 'Asia/Kolkata' });
  const billing = t.runtime.contextFor('billing', systemActor('test'));
  for (const h of DEMO_TAX_HEADS) await billing.call('billing', 'defineTaxHead', { tenantId: 'in.ka', service: 'TL', ...h });
  await billing.call('billing', 'defineFeeRule', { tenantId: CITY, service: 'TL', rule });
}
