import { defineOperation, sql, z } from '../../kernel/index.js';
import { parentOf, tenantCode } from './tenants.js';
import { STAFF_CODE } from './staff.js';

/**
 * "Who may be given this record": active employees holding a role (granted for the record's tenant
 * or above) or a designation, with an assignment in force on a date whose jurisdiction covers one
 * of the record's boundaries (or the whole tenant, when it names the tenant code). The workflow
 * module routes and escalates records with it.
 */
export const eligibleEmployeeOperations = {
  findEligibleEmployees: defineOperation({
    summary: 'Active employees holding a role or designation whose jurisdiction covers a boundary of a tenant',
    permission: 'identity.staff.read',
    http: { method: 'GET', path: '/eligible-employees' },
    input: z.object({
      tenantId: tenantCode,
      role: z.string().regex(STAFF_CODE).optional(),
      designation: z.string().regex(STAFF_CODE).optional(),
      boundaries: z
        .preprocess((v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v), z.array(z.string().min(1).max(100)).max(50))
        .default([])
        .describe('Boundary codes of the record, most specific first, with their ancestors; comma-separated in a query'),
      on: z.iso.date().optional().describe('The day the assignment must be in force (default today, UTC)'),
    }),
    output: z.object({ items: z.array(z.object({ id: z.string(), name: z.string() })) }),
    async handler(ctx, input) {
      if (!input.role && !input.designation) return { items: [] };
      const chain: string[] = [];
      for (let t: string | null = input.tenantId; t; t = parentOf(t)) chain.push(t);
      const on = input.on ?? new Date().toISOString().slice(0, 10);
      const covers = [...new Set([...input.boundaries, input.tenantId])];
      let query = ctx.db
        .selectFrom('users as u')
        .innerJoin('assignments as a', 'a.user_id', 'u.id')
        .select(['u.id as id', 'u.name as name'])
        .distinct()
        .where('u.kind', '=', 'employee')
        .where('u.status', '=', 'active')
        .where('u.tenant_id', 'in', chain)
        .where('a.tenant_id', 'in', chain)
        .where(sql<boolean>`a.from_date <= ${on}::date and (a.to_date is null or a.to_date >= ${on}::date)`)
        .where(sql<boolean>`a.jurisdiction ?| array[${sql.join(covers)}]::text[]`);
      if (input.role) {
        query = query.where((eb) =>
          eb.exists(
            eb
              .selectFrom('user_roles as ur')
              .innerJoin('roles as r', 'r.id', 'ur.role_id')
              .select(sql`1`.as('one'))
              .whereRef('ur.user_id', '=', 'u.id')
              .where('r.code', '=', input.role!)
              .where('ur.tenant_id', 'in', chain),
          ),
        );
      }
      if (input.designation) {
        query = query.innerJoin('designations as g', 'g.id', 'a.designation_id').where('g.code', '=', input.designation);
      }
      const rows = await query.orderBy('u.id').limit(500).execute();
      return { items: rows.map((r) => ({ id: String(r.id), name: String(r.name) })) };
    },
  }),
};
