import { can, tenantCovers, z, type Actor, type OperationContext } from '../../kernel/index.js';
import { FilesErrors } from './errors.js';

export interface FileRow {
  id: string;
  tenant_id: string;
  owner_id: string;
  purpose: string;
  name: string;
  content_type: string;
  size_bytes: number | string | bigint;
  sha256: string;
  store: string;
  storage_key: string;
  thumbnail_key: string | null;
  thumbnail_sha256: string | null;
  thumbnail_size: number | string | bigint | null;
  record_type: string | null;
  record_id: string | null;
  attached_at: Date | string | null;
  status: 'active' | 'deleted' | 'expired';
  deleted_at: Date | string | null;
  created_at: Date | string;
}

export const fileMetadata = z.object({
  id: z.string(),
  tenantId: z.string(),
  ownerId: z.string(),
  purpose: z.string(),
  name: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  thumbnail: z.boolean(),
  record: z.object({ type: z.string(), id: z.string(), attachedAt: z.string() }).nullable(),
  createdAt: z.string(),
});
export type FileMetadata = z.input<typeof fileMetadata>;

export function toMetadata(row: FileRow): FileMetadata {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    ownerId: row.owner_id,
    purpose: row.purpose,
    name: row.name,
    contentType: row.content_type,
    size: Number(row.size_bytes),
    sha256: row.sha256,
    thumbnail: row.thumbnail_key !== null,
    record: row.record_type && row.record_id ? { type: row.record_type, id: row.record_id, attachedAt: iso(row.attached_at!) } : null,
    createdAt: iso(row.created_at),
  };
}

export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/**
 * Who may see a file: the platform; its owner; or a holder of `widerPermission` whose tenant
 * covers the file's. Everyone else is told it does not exist.
 */
export function canSee(actor: Actor, row: Pick<FileRow, 'tenant_id' | 'owner_id'>, widerPermission: string): boolean {
  if (actor.kind === 'system') return true;
  if (actor.kind !== 'user' || !actor.tenantId || !tenantCovers(actor.tenantId, row.tenant_id)) return false;
  return row.owner_id === actor.id || can(actor, widerPermission);
}

/** A live file the actor may see, or 404 (another tenant's, another citizen's, deleted, or none). */
export async function findVisibleFile(ctx: OperationContext, id: string, widerPermission: string): Promise<FileRow> {
  const row = (await ctx.db.selectFrom('files').selectAll().where('id', '=', id).where('status', '=', 'active').executeTakeFirst()) as FileRow | undefined;
  if (!row || !canSee(ctx.actor, row, widerPermission)) throw FilesErrors.fileNotFound();
  return row;
}
