import { sql, type OperationContext } from '../../kernel/index.js';

/**
 * A token bucket per provider, in the database so that every process shares it: `rate` tokens a
 * second, at most one second's worth banked. One statement refills and takes under the row lock.
 * Returns how many of `want` were granted and, when none, how long until the next token.
 */
export async function takeTokens(ctx: OperationContext, provider: string, want: number, rate: number): Promise<{ granted: number; waitMs: number }> {
  const burst = Math.max(1, rate);
  await ctx.db.insertInto('rate_buckets').values({ provider, tokens: burst, refilled_at: new Date() }).onConflict((oc) => oc.column('provider').doNothing()).execute();
  const result = await sql<{ granted: number; tokens: number }>`
    with now as (select clock_timestamp() as t),
    cur as (
      select least(${burst}::float8, b.tokens + extract(epoch from (now.t - b.refilled_at)) * ${rate}::float8) as avail
      from notify.rate_buckets b, now where b.provider = ${provider} for update of b
    )
    update notify.rate_buckets b
    set tokens = cur.avail - least(floor(cur.avail), ${want}::float8), refilled_at = now.t
    from cur, now
    where b.provider = ${provider}
    returning least(floor(cur.avail), ${want}::float8)::int as granted, b.tokens::float8 as tokens`.execute(ctx.db);
  const row = result.rows[0]!;
  const granted = Number(row.granted);
  return { granted, waitMs: granted > 0 ? 0 : Math.max(5, Math.ceil(((1 - Number(row.tokens)) / rate) * 1000)) };
}
