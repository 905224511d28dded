import { defineOperation, newId, sql, z, type OperationContext } from '../../kernel/index.js';
import { ReferenceErrors } from './errors.js';
import { bbox, containsPoint, geometrySchema, type Geometry } from './geometry.js';
import { byNearest, fromJson, iso, tenantChain, tenantCode } from './tenant-chain.js';

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const boundaryCode = z.string().regex(CODE, 'letters, digits and _ . - (up to 100), such as BLR.W012');
const hierarchyCode = z.string().regex(/^[A-Z][A-Z0-9_]{0,39}$/, 'upper case letters, digits and _, such as ADMIN');
const levelName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower case letters, digits and _, such as ward');
const names = z
  .record(z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag such as en or kn-IN'), z.string().trim().min(1).max(200))
  .refine((n) => Object.keys(n).length >= 1 && Object.keys(n).length <= 50, 'between 1 and 50 names, keyed by locale');

const hierarchyOut = z.object({ tenantId: z.string(), code: z.string(), name: z.string(), levels: z.array(z.string()) });
const boundaryOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  hierarchy: z.string(),
  code: z.string(),
  level: z.string(),
  parent: z.string().nullable(),
  names: z.record(z.string(), z.string()),
  geometry: geometrySchema.nullable().optional(),
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
type BoundaryOut = z.input<typeof boundaryOut>;

function toBoundary(row: any, withGeometry = true): BoundaryOut {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    hierarchy: row.hierarchy,
    code: row.code,
    level: row.level,
    parent: row.parent_code ?? null,
    names: fromJson(row.names),
    ...(withGeometry ? { geometry: row.geometry ? fromJson<Geometry>(row.geometry) : null } : {}),
    bbox: row.min_lon === null || row.min_lon === undefined ? null : [Number(row.min_lon), Number(row.min_lat), Number(row.max_lon), Number(row.max_lat)],
    version: Number(row.version),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

async function resolveHierarchy(ctx: OperationContext, tenant: string, code: string, path: string) {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('hierarchies').selectAll().where('code', '=', code).where('tenant_id', 'in', chain).execute();
  rows.sort(byNearest(chain, (r: any) => r.tenant_id));
  if (!rows[0]) throw ReferenceErrors.hierarchyNotFound(code, path);
  return { code, levels: fromJson<string[]>(rows[0].levels) };
}

/** The boundary `code` as `tenant` sees it: in the tenant or the nearest one above. */
async function findBoundary(ctx: OperationContext, tenant: string, hierarchy: string, code: string): Promise<any | undefined> {
  const chain = tenantChain(tenant);
  const rows = await ctx.db.selectFrom('boundaries').selectAll().where('hierarchy', '=', hierarchy).where('code', '=', code).where('tenant_id', 'in', chain).execute();
  rows.sort(byNearest(chain, (r: any) => r.tenant_id));
  return rows[0];
}

/** From `row` up to the top: each parent as the tenant of the boundary below it sees it. */
async function ancestors(ctx: OperationContext, row: any): Promise<any[]> {
  const path: any[] = [];
  for (let at = row; at.parent_code && path.length < 50; ) {
    const parent = await findBoundary(ctx, at.tenant_id, at.hierarchy, at.parent_code);
    if (!parent) break;
    path.push(parent);
    at = parent;
  }
  return path;
}

/**
 * A parent must be visible from the child's tenant, must not be the child or below it, and must
 * be of a higher level. Levels only go down a tree, so no cycle can form even under concurrent
 * changes; the explicit walk is there to answer BOUNDARY_CYCLE rather than a level error.
 */
async function checkParent(ctx: OperationContext, child: { tenantId: string; hierarchy: string; code: string; depth: number }, parentCode: string, levels: string[]) {
  const parent = await findBoundary(ctx, child.tenantId, child.hierarchy, parentCode);
  if (!parent) throw ReferenceErrors.parentNotFound(parentCode);
  if (parent.code === child.code || (await ancestors(ctx, parent)).some((a) => a.code === child.code)) throw ReferenceErrors.cycle(child.code, parentCode);
  if (Number(parent.depth) >= child.depth) {
    throw ReferenceErrors.parentLevel(`a ${levels[child.depth]} cannot be under a ${parent.level}: the parent must be of a level above it (${levels.slice(0, child.depth).join(', ') || 'none'})`);
  }
}

function geometryColumns(geometry: Geometry | null) {
  if (!geometry) return { geometry: null, min_lon: null, min_lat: null, max_lon: null, max_lat: null };
  const box = bbox(geometry);
  return { geometry: JSON.stringify(geometry), min_lon: box.minLon, min_lat: box.minLat, max_lon: box.maxLon, max_lat: box.maxLat };
}

const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const boundaryOperations = {
  createHierarchy: defineOperation({
    summary: 'Define a boundary hierarchy and its levels, top first (state, district, city, ward, locality)',
    permission: 'reference.boundary.write',
    http: { method: 'POST', path: '/boundaries/hierarchies' },
    input: z.object({
      tenantId: tenantCode,
      code: hierarchyCode,
      name: z.string().trim().min(1).max(200),
      levels: z.array(levelName).min(1).max(12).refine((l) => new Set(l).size === l.length, 'each level once'),
    }),
    output: hierarchyOut,
    async handler(ctx, input) {
      return ctx.transaction(async (tx) => {
        const row = await tx.db
          .insertInto('hierarchies')
          .values({ tenant_id: input.tenantId, code: input.code, name: input.name, levels: JSON.stringify(input.levels) })
          .onConflict((oc) => oc.columns(['code', 'tenant_id']).doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!row) throw ReferenceErrors.hierarchyExists(input.code);
        await tx.audit({ action: 'reference.hierarchy.created', entityType: 'boundary_hierarchy', entityId: input.code, tenantId: input.tenantId, data: { levels: input.levels } });
        return { tenantId: input.tenantId, code: input.code, name: input.name, levels: input.levels };
      });
    },
  }),

  listHierarchies: defineOperation({
    summary: 'Hierarchies a tenant sees (its own and inherited)',
    permission: 'reference.boundary.read',
    http: { method: 'GET', path: '/boundaries/hierarchies' },
    readsInherited: true,
    input: z.object({ tenant: tenantCode }),
    output: z.object({ items: z.array(hierarchyOut) }),
    async handler(ctx, input) {
      const chain = tenantChain(input.tenant);
      const rows = await ctx.db.selectFrom('hierarchies').selectAll().where('tenant_id', 'in', chain).orderBy('code').execute();
      rows.sort(byNearest(chain, (r: any) => r.tenant_id));
      const seen = new Set<string>();
      const items = rows.filter((r: any) => !seen.has(r.code) && seen.add(r.code));
      return { items: items.map((r: any) => ({ tenantId: r.tenant_id, code: r.code, name: r.name, levels: fromJson<string[]>(r.levels) })) };
    },
  }),

  createBoundary: defineOperation({
    summary: 'Add a boundary: a code, a level, a parent seen from the tenant, names per locale, an optional point or polygon',
    permission: 'reference.boundary.write',
    http: { method: 'POST', path: '/boundaries' },
    input: z.object({
      tenantId: tenantCode,
      hierarchy: hierarchyCode,
      code: boundaryCode,
      level: levelName,
      parent: boundaryCode.optional(),
      names,
      geometry: geometrySchema.optional(),
    }),
    output: boundaryOut,
    async handler(ctx, input) {
      const { levels } = await resolveHierarchy(ctx, input.tenantId, input.hierarchy, 'body.hierarchy');
      const depth = levels.indexOf(input.level);
      if (depth < 0) throw ReferenceErrors.levelUnknown(input.level, levels);
      if (input.parent) await checkParent(ctx, { tenantId: input.tenantId, hierarchy: input.hierarchy, code: input.code, depth }, input.parent, levels);
      else if (depth > 0) throw ReferenceErrors.rootNeedsTopLevel(levels[0]!);
      return ctx.transaction(async (tx) => {
        const row = await tx.db
          .insertInto('boundaries')
          .values({
            id: newId('bnd'),
            tenant_id: input.tenantId,
            hierarchy: input.hierarchy,
            code: input.code,
            level: input.level,
            depth,
            parent_code: input.parent ?? null,
            names: JSON.stringify(input.names),
            ...geometryColumns(input.geometry ?? null),
          })
          .onConflict((oc) => oc.columns(['hierarchy', 'tenant_id', 'code']).doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!row) throw ReferenceErrors.boundaryExists(input.code);
        await tx.audit({ action: 'reference.boundary.created', entityType: 'boundary', entityId: row.id, tenantId: input.tenantId, data: { hierarchy: input.hierarchy, code: input.code, parent: input.parent ?? null } });
        await tx.emit({ name: 'reference.boundary.changed', tenantId: input.tenantId, payload: { tenant: input.tenantId, hierarchy: input.hierarchy, code: input.code, change: 'created' } });
        return toBoundary(row);
      });
    },
  }),

  updateBoundary: defineOperation({
    summary: 'Move a boundary to another parent, rename it or change its geometry; `version` must be the one last read',
    permission: 'reference.boundary.write',
    http: { method: 'PATCH', path: '/boundaries/:hierarchy/:code' },
    input: z.object({
      tenantId: tenantCode,
      hierarchy: hierarchyCode,
      code: boundaryCode,
      version: z.number().int().min(1),
      parent: boundaryCode.optional(),
      names: names.optional(),
      geometry: geometrySchema.nullable().optional(),
    }),
    output: boundaryOut,
    async handler(ctx, input) {
      const current = await ctx.db.selectFrom('boundaries').selectAll().where('hierarchy', '=', input.hierarchy).where('tenant_id', '=', input.tenantId).where('code', '=', input.code).executeTakeFirst();
      if (!current) throw ReferenceErrors.boundaryNotFound();
      if (input.parent !== undefined && input.parent !== current.parent_code) {
        const { levels } = await resolveHierarchy(ctx, input.tenantId, input.hierarchy, 'body.hierarchy');
        await checkParent(ctx, { tenantId: input.tenantId, hierarchy: input.hierarchy, code: input.code, depth: Number(current.depth) }, input.parent, levels);
      }
      return ctx.transaction(async (tx) => {
        const changes: Record<string, unknown> = {};
        if (input.parent !== undefined) changes.parent_code = input.parent;
        if (input.names !== undefined) changes.names = JSON.stringify(input.names);
        if (input.geometry !== undefined) Object.assign(changes, geometryColumns(input.geometry));
        const row = await tx.db
          .updateTable('boundaries')
          .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
          .where('id', '=', current.id)
          .where('version', '=', input.version)
          .returningAll()
          .executeTakeFirst();
        if (!row) throw ReferenceErrors.staleVersion();
        const changed = ['parent_code', 'names', 'geometry'].filter((k) => k in changes);
        await tx.audit({ action: 'reference.boundary.updated', entityType: 'boundary', entityId: row.id, tenantId: input.tenantId, data: { changed, parent: row.parent_code, version: row.version } });
        await tx.emit({ name: 'reference.boundary.changed', tenantId: input.tenantId, payload: { tenant: input.tenantId, hierarchy: input.hierarchy, code: input.code, change: 'updated' } });
        return toBoundary(row);
      });
    },
  }),

  getBoundary: defineOperation({
    summary: 'One boundary as a tenant sees it, with its ancestors (nearest first)',
    permission: 'reference.boundary.read',
    http: { method: 'GET', path: '/boundaries/:hierarchy/:code' },
    readsInherited: true,
    input: z.object({ tenant: tenantCode, hierarchy: hierarchyCode, code: boundaryCode }),
    output: boundaryOut.extend({ ancestors: z.array(boundaryOut) }),
    async handler(ctx, input) {
      const row = await findBoundary(ctx, input.tenant, input.hierarchy, input.code);
      if (!row) throw ReferenceErrors.boundaryNotFound();
      return { ...toBoundary(row), ancestors: (await ancestors(ctx, row)).map((a) => toBoundary(a, false)) };
    },
  }),

  searchBoundaries: defineOperation({
    summary: 'Search the boundaries a tenant sees by code, name (any locale, part of it), parent or level',
    permission: 'reference.boundary.read',
    http: { method: 'GET', path: '/boundaries' },
    readsInherited: true,
    input: z.object({
      tenant: tenantCode,
      hierarchy: hierarchyCode,
      code: boundaryCode.optional(),
      name: z.string().trim().min(1).max(100).optional(),
      parent: boundaryCode.optional(),
      level: levelName.optional(),
      withGeometry: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    output: z.object({ items: z.array(boundaryOut) }),
    async handler(ctx, input) {
      const chain = tenantChain(input.tenant);
      let query = ctx.db.selectFrom('boundaries').selectAll().where('hierarchy', '=', input.hierarchy).where('tenant_id', 'in', chain);
      if (input.code) query = query.where('code', '=', input.code);
      if (input.parent) query = query.where('parent_code', '=', input.parent);
      if (input.level) query = query.where('level', '=', input.level);
      if (input.name) query = query.where(sql<boolean>`exists (select 1 from jsonb_each_text(names) as n where lower(n.value) like ${likePattern(input.name)})`);
      const rows = await query.orderBy('depth').orderBy('code').limit(input.limit * chain.length).execute();
      const nearest = [...rows].sort(byNearest(chain, (r: any) => r.tenant_id));
      const seen = new Set<string>();
      const kept = new Set(nearest.filter((r: any) => !seen.has(r.code) && seen.add(r.code)));
      return { items: rows.filter((r) => kept.has(r)).slice(0, input.limit).map((r) => toBoundary(r, input.withGeometry)) };
    },
  }),

  locateBoundary: defineOperation({
    summary: 'The most specific boundary (deepest level) whose polygon contains a point, with its ancestors',
    permission: 'reference.boundary.read',
    http: { method: 'GET', path: '/boundaries/containing' },
    readsInherited: true,
    input: z.object({
      tenant: tenantCode,
      hierarchy: hierarchyCode,
      lon: z.coerce.number().min(-180).max(180),
      lat: z.coerce.number().min(-90).max(90),
    }),
    output: z.object({ boundary: boundaryOut.nullable(), ancestors: z.array(boundaryOut) }),
    async handler(ctx, input) {
      const chain = tenantChain(input.tenant);
      const candidates = await ctx.db
        .selectFrom('boundaries')
        .selectAll()
        .where('hierarchy', '=', input.hierarchy)
        .where('tenant_id', 'in', chain)
        .where('min_lon', '<=', input.lon)
        .where('max_lon', '>=', input.lon)
        .where('min_lat', '<=', input.lat)
        .where('max_lat', '>=', input.lat)
        .execute();
      const containing = candidates.filter((r: any) => containsPoint(fromJson<Geometry>(r.geometry), input.lon, input.lat));
      containing.sort((a: any, b: any) => Number(b.depth) - Number(a.depth) || chain.indexOf(a.tenant_id) - chain.indexOf(b.tenant_id));
      const best = containing[0];
      if (!best) return { boundary: null, ancestors: [] };
      return { boundary: toBoundary(best, false), ancestors: (await ancestors(ctx, best)).map((a) => toBoundary(a, false)) };
    },
  }),
};
