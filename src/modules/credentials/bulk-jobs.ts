import { parse } from 'csv-parse/sync';
import { isSevaError, newId, tenantCovers, type FieldProblem, type OperationContext } from '../../kernel/index.js';
import { CredentialErrors } from './errors.js';
import { mobileIndex, normaliseMobile, validityOf } from './issue-request.js';
import { checkClaims, findType } from './types.js';

/**
 * Bulk issuance from CSV (a vaccination campaign's day of records). `createBulkJob` reads and
 * validates every row at once, keeps the valid ones in `bulk_rows` and the refused ones as
 * per-row errors on the job, and queues the job (kernel job queue) in the same transaction.
 * `runBulkJob` then issues the pending rows in batches: one transaction per batch signs the
 * batch, inserts its credentials in one statement, marks its rows and counts them on the job,
 * with one audit entry. A process killed midway loses only the batch in flight (rolled back);
 * the job is sent again at the next start (`resumeBulkJobs`) or by the minute sweep, and goes on
 * from the first pending row. Sources are idempotent too, so a row whose credential exists
 * (issued by the API, or an earlier job) is counted `existing`, never issued twice.
 */

export const BULK_COLUMNS = ['sourceRef', 'subjectId', 'mobile', 'validFrom', 'validUntil'] as const;
export const BULK_MAX_ROWS = 100_000;
/** Validation errors kept on the job (the counts stay exact beyond it). */
const MAX_ERRORS_KEPT = 1000;
/** A running job whose last batch is older than this is taken to have lost its worker. */
export const BULK_STALE_SECONDS = 60;

export interface BulkJobRow {
  id: string;
  tenant_id: string;
  type_code: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  batch_size: number;
  total_rows: number;
  valid_rows: number;
  invalid_rows: number;
  processed: number;
  issued: number;
  existing: number;
  failed: number;
  errors: unknown;
  created_by: string;
  created_at: Date | string;
  started_at: Date | string | null;
  heartbeat_at: Date | string | null;
  finished_at: Date | string | null;
  busy_ms: number | string;
}

export interface BulkRow {
  job_id: string;
  row_no: number;
  source_ref: string;
  subject_id: string | null;
  mobile_bidx: string | null;
  claims: Record<string, unknown> | string;
  valid_from: string | null;
  valid_until: string | null;
}

type RowError = { row: number; sourceRef: string | null; errors: FieldProblem[] };

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

/** A cell as the claims schema types it: numbers and booleans from their text, the rest as text. */
function cellValue(schema: Record<string, unknown> | undefined, cell: string): unknown {
  const types = [schema?.type].flat();
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(cell)) return Number(cell);
  if (types.includes('boolean') && (cell === 'true' || cell === 'false')) return cell === 'true';
  return cell;
}

function dateTimeProblem(value: string, path: string): FieldProblem | undefined {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : { path, message: 'an ISO 8601 date-time with offset' };
}

export async function createBulkJob(ctx: OperationContext, input: { tenantId: string; type: string; csv: string; batchSize: number }) {
  const type = await findType(ctx, input.tenantId, input.type);
  if (!type) throw CredentialErrors.typeNotFound(input.type);
  let records: string[][];
  try {
    records = parse(input.csv, { bom: true, skip_empty_lines: true, trim: true }) as string[][];
  } catch (err) {
    throw CredentialErrors.csvInvalid((err as Error).message);
  }
  const [header, ...lines] = records;
  if (!header || !header.includes('sourceRef')) throw CredentialErrors.csvInvalid('the first line must name the columns, sourceRef among them');
  if (lines.length === 0) throw CredentialErrors.csvInvalid('no rows after the header');
  if (lines.length > BULK_MAX_ROWS) throw CredentialErrors.csvInvalid(`more than ${BULK_MAX_ROWS} rows; split the file`);
  const properties = (type.claimsSchema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const duplicateColumn = header.find((c, i) => header.indexOf(c) !== i);
  if (duplicateColumn) throw CredentialErrors.csvInvalid(`column ${duplicateColumn} appears twice`);
  if (type.claimsSchema.additionalProperties === false) {
    const unknown = header.filter((c) => !(BULK_COLUMNS as readonly string[]).includes(c) && !(c in properties));
    if (unknown.length > 0) throw CredentialErrors.csvInvalid(`column ${unknown.join(', ')} is neither a claim of ${type.code} nor one of ${BULK_COLUMNS.join(', ')}`);
  }

  const valid: Array<Omit<BulkRow, 'claims'> & { claims: string; status: 'pending' }> = [];
  const errors: RowError[] = [];
  const seen = new Map<string, number>();
  const jobId = newId('bulk');
  lines.forEach((cells, i) => {
    const rowNo = i + 2; // as a spreadsheet numbers it: the header is line 1
    const cell = (name: string) => {
      const at = header.indexOf(name);
      return at >= 0 && cells[at] !== undefined && cells[at] !== '' ? cells[at] : undefined;
    };
    const problems: FieldProblem[] = [];
    const sourceRef = cell('sourceRef');
    if (!sourceRef) problems.push({ path: 'sourceRef', message: 'is required' });
    else if (sourceRef.length > 200) problems.push({ path: 'sourceRef', message: 'at most 200 characters' });
    else if (seen.has(sourceRef)) problems.push({ path: 'sourceRef', message: `repeats row ${seen.get(sourceRef)}` });
    else seen.set(sourceRef, rowNo);
    const claims: Record<string, unknown> = {};
    header.forEach((name, at) => {
      if ((BULK_COLUMNS as readonly string[]).includes(name)) return;
      const value = cells[at];
      if (value !== undefined && value !== '') claims[name] = cellValue(properties[name], value);
    });
    const mobileText = cell('mobile');
    const mobile = mobileText === undefined ? undefined : normaliseMobile(mobileText);
    if (mobileText !== undefined && !mobile) problems.push({ path: 'mobile', message: 'a 10-digit mobile number such as 9876543210' });
    const validFrom = cell('validFrom');
    const validUntil = cell('validUntil');
    for (const [name, value] of [
      ['validFrom', validFrom],
      ['validUntil', validUntil],
    ] as const) {
      const problem = value === undefined ? undefined : dateTimeProblem(value, name);
      if (problem) problems.push(problem);
    }
    const subjectId = cell('subjectId');
    if (subjectId !== undefined && subjectId.length > 500) problems.push({ path: 'subjectId', message: 'at most 500 characters' });
    try {
      checkClaims(type, claims);
      if (!problems.some((p) => p.path.startsWith('valid'))) validityOf(type, { validFrom, validUntil });
    } catch (err) {
      if (!isSevaError(err)) throw err;
      problems.push(...(err.errors ?? []).map((e) => ({ path: e.path.replace(/^body\./, ''), message: e.message })));
    }
    if (problems.length > 0) {
      errors.push({ row: rowNo, sourceRef: sourceRef ?? null, errors: problems });
      return;
    }
    valid.push({
      job_id: jobId,
      row_no: rowNo,
      source_ref: sourceRef!,
      subject_id: subjectId ?? null,
      mobile_bidx: mobile ? mobileIndex(ctx, input.tenantId, mobile) : null,
      claims: JSON.stringify(claims),
      valid_from: validFrom ?? null,
      valid_until: validUntil ?? null,
      status: 'pending',
    });
  });

  const job = await ctx.transaction(async (tx) => {
    const row = await tx.db
      .insertInto('bulk_jobs')
      .values({
        id: jobId,
        tenant_id: input.tenantId,
        type_code: type.code,
        status: valid.length > 0 ? 'queued' : 'completed',
        batch_size: input.batchSize,
        total_rows: lines.length,
        valid_rows: valid.length,
        invalid_rows: errors.length,
        errors: JSON.stringify(errors.slice(0, MAX_ERRORS_KEPT)),
        created_by: ctx.actor.id,
        ...(valid.length > 0 ? {} : { finished_at: new Date() }),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    for (let at = 0; at < valid.length; at += 1000) await tx.db.insertInto('bulk_rows').values(valid.slice(at, at + 1000)).execute();
    await tx.audit({ action: 'credentials.bulk.created', entityType: 'bulk_job', entityId: jobId, tenantId: input.tenantId, data: { type: type.code, rows: lines.length, valid: valid.length, invalid: errors.length } });
    await tx.emit({ name: 'credentials.bulk.created', tenantId: input.tenantId, payload: { id: jobId, tenantId: input.tenantId, type: type.code, rows: lines.length, valid: valid.length } });
    if (valid.length > 0) await ctx.jobs.send('bulkIssue', { jobId });
    return row as BulkJobRow;
  });
  return bulkJobView(job);
}

export function bulkJobView(job: BulkJobRow) {
  const busySeconds = Number(job.busy_ms) / 1000;
  const started = job.started_at ? new Date(job.started_at).getTime() : null;
  const ended = job.finished_at ? new Date(job.finished_at).getTime() : job.heartbeat_at ? new Date(job.heartbeat_at).getTime() : null;
  return {
    id: job.id,
    tenantId: job.tenant_id,
    type: job.type_code,
    status: job.status,
    batchSize: Number(job.batch_size),
    counts: {
      rows: Number(job.total_rows),
      valid: Number(job.valid_rows),
      invalid: Number(job.invalid_rows),
      processed: Number(job.processed),
      pending: Number(job.valid_rows) - Number(job.processed),
      issued: Number(job.issued),
      existing: Number(job.existing),
      failed: Number(job.failed),
    },
    throughput: {
      /** Rows per second while issuing (sum of the batches' time), and over the job's wall clock. */
      rowsPerSecond: busySeconds > 0 ? Math.round(Number(job.processed) / busySeconds) : null,
      elapsedSeconds: started !== null && ended !== null ? Math.max(0, (ended - started) / 1000) : null,
    },
    errors: (typeof job.errors === 'string' ? JSON.parse(job.errors) : job.errors) as RowError[],
    createdAt: iso(job.created_at)!,
    startedAt: iso(job.started_at),
    finishedAt: iso(job.finished_at),
  };
}

/** A job the actor's tenant covers, or 404. */
export async function getBulkJob(ctx: OperationContext, id: string, withFailedRows = true) {
  const job = (await ctx.db.selectFrom('bulk_jobs').selectAll().where('id', '=', id).executeTakeFirst()) as BulkJobRow | undefined;
  const actor = ctx.actor;
  if (!job || !(actor.kind === 'system' || (actor.kind === 'user' && !!actor.tenantId && tenantCovers(actor.tenantId, job.tenant_id)))) throw CredentialErrors.bulkJobNotFound();
  const view = bulkJobView(job);
  if (withFailedRows && view.counts.failed > 0) {
    const failed = await ctx.db.selectFrom('bulk_rows').select(['row_no', 'source_ref', 'error']).where('job_id', '=', id).where('status', '=', 'failed').orderBy('row_no').limit(MAX_ERRORS_KEPT).execute();
    view.errors = [
      ...view.errors,
      ...failed.map((r) => ({ row: Number(r.row_no), sourceRef: String(r.source_ref), errors: (typeof r.error === 'string' ? JSON.parse(r.error) : r.error) as FieldProblem[] })),
    ].sort((a, b) => a.row - b.row);
  }
  return view;
}

