import { CompiledQuery } from 'kysely';
import { newId, sql, type FieldProblem, type OperationContext } from '../../kernel/index.js';
import { CredentialErrors } from './errors.js';
import { INSERTED, issuedEvent } from './issuance.js';
import { claimsHash, issuanceType, validityOf, type IssueInput, type PreparedIssue } from './issue-request.js';
import { documentSigner, signRow, type SignedRow } from './signed-row.js';
import { reserveStatusPositions, statusPosition } from './status-positions.js';
import { keysChanged, signingKey } from './keys.js';
import type { CredentialsState } from './state.js';
import type { CredentialType } from './types.js';
import type { BulkJobRow, BulkRow } from './bulk-jobs.js';

/**
 * Running a bulk job (see `bulk-jobs.ts` for how one is created): the pending rows in batches,
 * each read, given status positions and signed outside any transaction while the previous one
 * commits, then claimed, inserted, marked and counted in one short transaction.
 */
type Outcome = { rowNo: number; status: 'issued' | 'existing' | 'failed'; credentialId: string | null; error: FieldProblem[] | null };

/** Rows signed between two turns of the event loop. */
const SIGN_CHUNK = 64;

const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Issues the pending rows of a job in batches until none is left. Each batch is read and signed
 * outside any transaction, then committed by one short transaction (`commitBatch`); batch n + 1
 * is read and signed while batch n's transaction runs, so the database and this thread work at
 * once. Safe to run twice at once (a resumed job while a slow worker still runs): a batch's
 * transaction claims its rows with `for update skip locked` and issues only those still pending;
 * what another runner claimed first was signed for nothing (its positions stay unused zeros).
 */
export async function runBulkJob(state: CredentialsState, ctx: OperationContext, jobId: string): Promise<void> {
  // Sent again (a start's resumption, the sweep) while this process runs it: one runner is enough.
  if (state.bulkRunners.has(jobId)) return;
  state.bulkRunners.add(jobId);
  try {
    await runJob(state, ctx, jobId);
  } finally {
    state.bulkRunners.delete(jobId);
  }
}

async function runJob(state: CredentialsState, ctx: OperationContext, jobId: string): Promise<void> {
  const job = (await ctx.db.selectFrom('bulk_jobs').selectAll().where('id', '=', jobId).executeTakeFirst()) as BulkJobRow | undefined;
  if (!job || job.status === 'completed' || job.status === 'failed') return;
  const type = await issuanceType(state, ctx, job.tenant_id, job.type_code);
  if (!type) {
    await finish(ctx, job, 'failed');
    return;
  }
  await sql`update credentials.bulk_jobs set status = 'running', started_at = coalesce(started_at, now()), heartbeat_at = now() where id = ${jobId} and status in ('queued', 'running')`.execute(ctx.db);
  const clock = { mark: performance.now() };
  let inFlight: Promise<CommitResult> | undefined;
  let after = 0;
  // Rows read but not claimed (another runner held them) are looked at again in one more pass;
  // what is still pending after it is that runner's to finish.
  let missed = false;
  let passes = 1;
  for (;;) {
    const rows = await pendingRows(ctx, job, after);
    if (rows.length === 0) {
      if (inFlight) missed = (await inFlight).missed || missed;
      inFlight = undefined;
      if (!missed || passes >= 2) break;
      passes++;
      after = 0;
      missed = false;
      continue;
    }
    const from = after;
    after = Number(rows[rows.length - 1]!.row_no);
    let batch = await prepareBatch(state, ctx, job, type, rows, from);
    if (inFlight) missed = (await inFlight).missed || missed;
    inFlight = commitBatch(ctx, job, type, batch, clock).catch(async (err: unknown) => {
      if (!(err instanceof KeyNotActive)) throw err;
      // The key was rotated away since the batch was signed: sign it again with the active one.
      keysChanged(state, job.tenant_id);
      batch = await prepareBatch(state, ctx, job, type, rows, from);
      return commitBatch(ctx, job, type, batch, clock);
    });
    // Awaited before the next batch commits; until then a failure must not count as unhandled.
    inFlight.catch(() => {});
    // On the embedded database every query settles without I/O: let requests in between batches.
    await yieldToEvents();
  }
  await finish(ctx, job, 'completed');
}

/** The next pending rows after `after`, read without a lock (the batch's transaction claims them). */
async function pendingRows(ctx: OperationContext, job: BulkJobRow, after: number): Promise<BulkRow[]> {
  return (await ctx.db
    .selectFrom('bulk_rows')
    .select(['job_id', 'row_no', 'source_ref', 'subject_id', 'mobile_bidx', 'claims', 'valid_from', 'valid_until'])
    .where('job_id', '=', job.id)
    .where('status', '=', 'pending')
    .where('row_no', '>', after)
    .orderBy('row_no')
    .limit(Number(job.batch_size))
    .execute()) as BulkRow[];
}

type BatchInput = IssueInput & { rowNo: number; mobileBidx: string | null; hash: string };

interface PreparedBatch {
  /** The rows read: the pending ones numbered after `after`, up to `last`. */
  after: number;
  last: number;
  inputs: BatchInput[];
  /** Rows whose source already had a credential when the batch was read (judged again if claimed). */
  known: Map<string, { id: string; hash: string }>;
  /** Signed credentials of the other rows, by row number. */
  signed: Map<number, SignedRow>;
  kid: string;
}

class KeyNotActive extends Error {}

/** Reads what the batch's sources already have, reserves status positions and signs the rest: outside any transaction. */
async function prepareBatch(state: CredentialsState, ctx: OperationContext, job: BulkJobRow, type: CredentialType, rows: BulkRow[], after: number): Promise<PreparedBatch> {
  const inputs = rows.map((r): BatchInput => {
    const input: IssueInput = {
      tenantId: job.tenant_id,
      type: job.type_code,
      sourceRef: r.source_ref,
      subjectId: r.subject_id ?? undefined,
      claims: (typeof r.claims === 'string' ? JSON.parse(r.claims) : r.claims) as Record<string, unknown>,
      validFrom: r.valid_from ?? undefined,
      validUntil: r.valid_until ?? undefined,
    };
    return { ...input, rowNo: Number(r.row_no), mobileBidx: r.mobile_bidx, hash: claimsHash(input, r.mobile_bidx) };
  });
  const known = await currentCredentials(ctx.db, job, inputs.map((i) => i.sourceRef));
  const fresh = inputs.filter((i) => !known.has(i.sourceRef));
  const key = await signingKey(state, ctx, job.tenant_id);
  const signed = new Map<number, SignedRow>();
  if (fresh.length > 0) {
    const { first, seed } = await reserveStatusPositions(ctx, job.tenant_id, fresh.length);
    const created = new Date();
    const sign = documentSigner(ctx, type, key, job.tenant_id, created);
    // Signing is synchronous (libsodium: see `jcsSigner`), so a batch would hold this thread for
    // its whole length; yielding after each chunk lets the batch in flight and requests go on.
    for (let at = 0; at < fresh.length; at += SIGN_CHUNK) {
      const chunk = fresh.slice(at, at + SIGN_CHUNK).map(({ rowNo, mobileBidx, hash, ...issue }, j) => {
        const item: PreparedIssue = { input: issue, hash, validity: validityOf(type, issue), mobileBidx, id: newId('cred'), replaces: null, bulkJobId: job.id };
        return signRow(ctx, type, key, item, statusPosition(seed, first + at + j), created, sign).then((row) => signed.set(rowNo, row));
      });
      await Promise.all(chunk);
      await yieldToEvents();
    }
  }
  return { after, last: Number(rows[rows.length - 1]!.row_no), inputs, known, signed, kid: key.kid };
}

async function currentCredentials(db: OperationContext['db'], job: BulkJobRow, refs: string[]): Promise<Map<string, { id: string; hash: string }>> {
  if (refs.length === 0) return new Map();
  const rows = await db
    .selectFrom('credentials')
    .select(['id', 'source_ref', 'claims_hash'])
    .where('tenant_id', '=', job.tenant_id)
    .where('type_code', '=', job.type_code)
    .where('replaced_by', 'is', null)
    .where('source_ref', 'in', refs)
    .execute();
  return new Map(rows.map((c) => [String(c.source_ref), { id: String(c.id), hash: String(c.claims_hash) }]));
}

type CommitResult = { claimed: number; missed: boolean };

/**
 * Statement texts by row count: a batch's thousands of values are written as numbered parameters
 * straight away (a query builder makes and freezes an object per value), and the same text each
 * batch lets PostgreSQL keep it prepared.
 */
const texts = new Map<string, string>();

function textFor(key: string, make: () => string): string {
  let text = texts.get(key);
  if (text === undefined) {
    if (texts.size >= 64) texts.clear();
    texts.set(key, (text = make()));
  }
  return text;
}

function placeholders(rows: number, columns: number, offset: number, casts: readonly string[] = []): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c < columns; c++) cells.push(`$${offset + r * columns + c + 1}${casts[c] ?? ''}`);
    tuples.push(`(${cells.join(', ')})`);
  }
  return tuples.join(', ');
}

/**
 * The pending rows of the batch's range (the rows read: none becomes pending again), locked, with
 * the signing key held active (`for share`); none when the key is no longer active.
 */
function claimRows(jobId: string, batch: PreparedBatch): CompiledQuery {
  return CompiledQuery.raw(
    `select b.row_no from credentials.bulk_rows b join credentials.signing_keys k on k.kid = $4 and k.status = 'active'
      where b.job_id = $1 and b.row_no > $2 and b.row_no <= $3 and b.status = 'pending'
      for update of b skip locked for share of k`,
    [jobId, batch.after, batch.last, batch.kid],
  );
}

/**
 * The batch's credentials in one insert, their rows marked issued by the same statement; a source
 * taken meanwhile is left out (`on conflict do nothing`), its row left to the caller. A job's
 * sources are distinct, so a credential's source names its row.
 */
function insertCredentials(jobId: string, batch: PreparedBatch, rows: SignedRow[]): CompiledQuery {
  const columns = INSERTED.length;
  const text = textFor(`credentials:${rows.length}`, () => {
    const names = INSERTED.map((c) => `"${c}"`).join(', ');
    return `with ins as (insert into credentials.credentials (${names}) values ${placeholders(rows.length, columns, 3)}
        on conflict (tenant_id, type_code, source_ref) where replaced_by is null do nothing returning id, source_ref),
      marked as (update credentials.bulk_rows r set status = 'issued', credential_id = ins.id from ins
        where r.job_id = $1 and r.row_no > $2 and r.row_no <= $3 and r.source_ref = ins.source_ref)
      select id, source_ref from ins`;
  });
  const parameters: unknown[] = [jobId, batch.after, batch.last];
  for (const row of rows) for (const column of INSERTED) parameters.push(row[column]);
  return CompiledQuery.raw(text, parameters);
}

/** Each row's outcome, one update for the batch. */
function markRows(jobId: string, outcomes: Outcome[]): CompiledQuery {
  const text = textFor(`rows:${outcomes.length}`, () => {
    const values = placeholders(outcomes.length, 4, 1, ['::int', '', '', '::jsonb']);
    return `update credentials.bulk_rows r set status = v.status, credential_id = v.credential_id, error = v.error from (values ${values}) as v(row_no, status, credential_id, error) where r.job_id = $1 and r.row_no = v.row_no`;
  });
  const parameters: unknown[] = [jobId];
  for (const o of outcomes) parameters.push(o.rowNo, o.status, o.credentialId, o.error ? JSON.stringify(o.error) : null);
  return CompiledQuery.raw(text, parameters);
}

/**
 * One batch's transaction: claims the rows still pending (`for update skip locked`) while holding
 * the signing key active until commit (`for share`: a rotation waits for the batch), inserts the
 * credentials and marks their rows issued in one statement, judges the rows whose source was
 * taken, and ends with one statement that counts the rows on the job with the events (one per
 * credential) and the batch's audit entry.
 */
async function commitBatch(ctx: OperationContext, job: BulkJobRow, type: CredentialType, batch: PreparedBatch, clock: { mark: number }): Promise<CommitResult> {
  return ctx.transaction(async (tx) => {
    const claimedRows = (await tx.db.executeQuery(claimRows(job.id, batch))).rows as Array<{ row_no: number }>;
    const claimed = new Set(claimedRows.map((r) => Number(r.row_no)));
    const missed = claimed.size < batch.inputs.length;
    if (claimed.size === 0) {
      const active = await tx.db.selectFrom('signing_keys').select('kid').where('kid', '=', batch.kid).where('status', '=', 'active').executeTakeFirst();
      if (!active) throw new KeyNotActive();
      return { claimed: 0, missed };
    }
    const mine = batch.inputs.filter((i) => claimed.has(i.rowNo));
    const values = mine.flatMap((i) => {
      const row = batch.signed.get(i.rowNo);
      return row ? [row] : [];
    });
    const inserted = values.length > 0 ? ((await tx.db.executeQuery(insertCredentials(job.id, batch, values))).rows as Array<{ id: string; source_ref: string }>) : [];
    const bySource = new Map(inserted.map((r) => [r.source_ref, r.id]));
    // Sources taken since the batch was read, or known then: their credential decides the row.
    const taken = mine.filter((i) => !bySource.has(i.sourceRef));
    const outcomes: Outcome[] = [];
    if (taken.length > 0) {
      const winners = await currentCredentials(tx.db, job, taken.map((i) => i.sourceRef));
      for (const input of taken) {
        const found = winners.get(input.sourceRef)!;
        outcomes.push(
          found.hash === input.hash
            ? { rowNo: input.rowNo, status: 'existing', credentialId: found.id, error: null }
            : { rowNo: input.rowNo, status: 'failed', credentialId: found.id, error: [{ path: 'sourceRef', message: 'already issued with other claims (CREDENTIAL_SOURCE_CONFLICT)' }] },
        );
      }
      await tx.db.executeQuery(markRows(job.id, outcomes));
    }
    for (const input of mine) {
      const row = batch.signed.get(input.rowNo);
      if (row && bySource.get(input.sourceRef) === row.id) await tx.emit(issuedEvent(type, row));
    }
    const count = (status: Outcome['status']) => outcomes.filter((o) => o.status === status).length;
    await tx.audit({
      action: 'credentials.bulk.batch_issued',
      entityType: 'bulk_job',
      entityId: job.id,
      tenantId: job.tenant_id,
      data: { type: job.type_code, rows: [mine[0]!.rowNo, mine[mine.length - 1]!.rowNo], issued: inserted.map((r) => r.id), existing: count('existing'), failed: count('failed') },
    });
    // Issuing time: this runner's wall clock since its previous batch committed (batches overlap).
    const now = performance.now();
    const busy = Math.round(now - clock.mark);
    await tx.lastWrite(
      tx.db
        .updateTable('bulk_jobs')
        .set((eb) => ({
          processed: eb('processed', '+', mine.length),
          issued: eb('issued', '+', inserted.length),
          existing: eb('existing', '+', count('existing')),
          failed: eb('failed', '+', count('failed')),
          busy_ms: eb('busy_ms', '+', busy),
          heartbeat_at: sql`now()`,
        }))
        .where('id', '=', job.id)
        .returning('id'),
      () => CredentialErrors.bulkJobNotFound(),
    );
    clock.mark = now;
    return { claimed: claimed.size, missed };
  });
}

async function finish(ctx: OperationContext, job: BulkJobRow, status: 'completed' | 'failed'): Promise<void> {
  await ctx.transaction(async (tx) => {
    const done = await sql<{ issued: number; existing: number; failed: number }>`
      update credentials.bulk_jobs set status = ${status}, finished_at = now()
      where id = ${job.id} and status in ('queued', 'running')
        and (${status} = 'failed' or not exists (select 1 from credentials.bulk_rows where job_id = ${job.id} and status = 'pending'))
      returning issued, existing, failed`.execute(tx.db);
    const row = done.rows[0];
    if (!row) return; // another worker finished it, or rows are still in flight elsewhere
    const counts = { issued: Number(row.issued), existing: Number(row.existing), failed: Number(row.failed) };
    await tx.audit({ action: `credentials.bulk.${status}`, entityType: 'bulk_job', entityId: job.id, tenantId: job.tenant_id, data: counts });
    await tx.emit({ name: `credentials.bulk.${status}`, tenantId: job.tenant_id, payload: { id: job.id, tenantId: job.tenant_id, type: job.type_code, ...counts } });
  });
}

/**
 * Sends again the jobs that lost their worker: at start (every unfinished job: a process that
 * was killed left them) and, from the minute sweep, those whose last batch is older than
 * BULK_STALE_SECONDS. A job sent twice does no harm: batches claim rows with `skip locked`.
 */
export async function resumeBulkJobs(ctx: OperationContext, staleSeconds: number | null): Promise<number> {
  let query = ctx.db.selectFrom('bulk_jobs').select('id').where('status', 'in', ['queued', 'running']);
  if (staleSeconds !== null) {
    const before = new Date(Date.now() - staleSeconds * 1000);
    query = query.where((eb) => eb.or([eb('heartbeat_at', '<', before), eb.and([eb('heartbeat_at', 'is', null), eb('created_at', '<', before)])]));
  }
  const jobs = await query.execute();
  for (const job of jobs) await ctx.jobs.send('bulkIssue', { jobId: String(job.id) });
  if (jobs.length > 0) ctx.log.info({ jobs: jobs.length }, 'bulk issuance jobs resumed');
  return jobs.length;
}
