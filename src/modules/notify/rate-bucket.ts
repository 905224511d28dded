import { sql, type OperationContext } from '../../kernel/index.js';

/**
 * A token bucket per provider, in the database so that every process shares it: `rate` tokens a
 * second, at most `burst` banked (one round in flight: a burst never runs far ahead of the rate). One statement refills and takes under the row lock.
 * Grants all of `want` (capped at `burst`) or nothing, with how long until that many are banked:
 * waiting for a whole round keeps rounds full instead of trickling one token at a time.
 */
export async function takeTokens(ctx: OperationContext, provider: string, want: number, rate: number, burst: number): Promise<{ granted: number; waitMs: number }> {
  await ctx.db.insertInto('rate_buckets').values({ provider, tokens: burst, refilled_at: new Date() }).onConflict((oc) => oc.column('provider').doNothing()).execute();
  const need = Math.max(1, Math.min(want, burst));
  const result = await sql<{ granted: number; tokens: number }>`
    with now as (select clock_timestamp() as t),
    cur as (
      select least(${burst}::float8, b.tokens + extract(epoch from (now.t - b.refilled_at)) * ${rate}::float8) as avail
      from notify.rate_buckets b, now where b.provider = ${provider} for update of b
    )
    update notify.rate_buckets b
    set tokens = cur.avail - (case when cur.avail >= ${need}::float8 then ${need}::float8 else 0 end), refilled_at = now.t
    from cur, now
    where b.provider = ${provider}
    returning (case when cur.avail >= ${need}::float8 then ${need} else 0 end)::int as granted, b.tokens::float8 as tokens`.execute(ctx.db);
  const row = result.rows[0]!;
  const granted = Number(row.granted);
  return { granted, waitMs: granted > 0 ? 0 : Math.max(2, Math.ceil(((need - Number(row.tokens)) / rate) * 1000)) };
}
