import { isSevaError, type OperationContext } from '../../kernel/index.js';
import { systemContext, type WorkflowState } from './workflow-state.js';

/** Master-data schema of holidays: one record per day off, keyed by its date, with tenant fallback. */
export const HOLIDAY_SCHEMA = 'calendar.holiday';

/** The tenant's holidays (its own and those of the tenants above it), as `YYYY-MM-DD` dates. */
export function holidaysOf(state: WorkflowState, ctx: OperationContext, tenant: string): Promise<Set<string>> {
  return state.holidays.get(tenant, async () => {
    const sys = systemContext(state, ctx, 'calendar');
    const dates = new Set<string>();
    let after: string | undefined;
    try {
      for (;;) {
        const page = await sys.call<{ items: Array<{ key: string; data: { date?: string } }>; nextAfter: string | null }>('reference', 'listRecords', {
          tenant,
          schema: HOLIDAY_SCHEMA,
          limit: 1000,
          ...(after ? { after } : {}),
        });
        for (const r of page.items) dates.add(typeof r.data.date === 'string' ? r.data.date : r.key);
        if (!page.nextAfter) break;
        after = page.nextAfter;
      }
    } catch (err) {
      // No holiday schema defined yet: no holidays, weekends still count.
      if (!(isSevaError(err) && err.status === 404)) throw err;
    }
    return dates;
  });
}

/** The boundary and its ancestors' codes, most specific first; undefined when the tenant has no such boundary. */
export function boundaryPathOf(state: WorkflowState, ctx: OperationContext, tenant: string, hierarchy: string, code: string): Promise<string[] | undefined> {
  return state.boundaryPaths.get(`${tenant}|${hierarchy}|${code}`, async () => {
    try {
      const b = await systemContext(state, ctx, 'boundary').call<{ code: string; ancestors: Array<{ code: string }> }>('reference', 'getBoundary', { tenant, hierarchy, code });
      return [b.code, ...b.ancestors.map((a) => a.code)];
    } catch (err) {
      if (isSevaError(err) && (err.status === 404 || err.status === 422)) return undefined;
      throw err;
    }
  });
}

/**
 * The boundary codes (or tenant codes) an employee's assignments in force today cover; empty for
 * someone without assignments (not an employee, or not assigned).
 */
export function jurisdictionOf(state: WorkflowState, ctx: OperationContext, userId: string): Promise<string[]> {
  const today = state.now().toISOString().slice(0, 10);
  return state.jurisdictions.get(`${userId}|${today}`, async () => {
    try {
      const { items } = await systemContext(state, ctx, 'jurisdiction').call<{ items: Array<{ jurisdiction: string[]; from: string; to: string | null }> }>('identity', 'listAssignments', { id: userId });
      return [...new Set(items.filter((a) => a.from <= today && (a.to === null || a.to >= today)).flatMap((a) => a.jurisdiction))];
    } catch (err) {
      if (isSevaError(err) && err.status === 404) return [];
      throw err;
    }
  });
}

/** Employees with a role or designation whose jurisdiction covers the record (identity decides). */
export async function eligibleEmployees(
  state: WorkflowState,
  ctx: OperationContext,
  q: { tenantId: string; role?: string | undefined; designation?: string | undefined; boundaries: string[] },
): Promise<string[]> {
  const { items } = await systemContext(state, ctx, 'assignment').call<{ items: Array<{ id: string }> }>('identity', 'findEligibleEmployees', {
    tenantId: q.tenantId,
    ...(q.role ? { role: q.role } : {}),
    ...(q.designation ? { designation: q.designation } : {}),
    boundaries: q.boundaries.slice(0, 50),
    on: state.now().toISOString().slice(0, 10),
  });
  return items.map((i) => i.id);
}
