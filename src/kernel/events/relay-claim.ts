import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import { newId } from '../crypto/ids.js';
import { SevaBootError } from '../errors/boot-error.js';
import type { Logger } from '../log/logger.js';

/** A process's claim lapses this long after its last heartbeat (a killed process's claim, say). */
export const RELAY_CLAIM_TTL_S = 30;
const HEARTBEAT_MS = 10_000;
/** Serializes the check and the claim of processes starting at the same moment. */
const CLAIM_LOCK = 0x5e7a_0e1a;

export interface RelayClaim {
  readonly processId: string;
  release(): Promise<void>;
}

/** How the outbox of this process is relayed: to its own consumers, or to NATS under a namespace. */
export const relayOf = (natsNamespace: string | undefined) => (natsNamespace === undefined ? 'local' : `nats:${natsNamespace}`);

const described = (relay: string) => (relay === 'local' ? 'in process (no NATS_URL)' : `to NATS under SEVA_EVENTS_NAMESPACE=${relay.slice('nats:'.length)}`);

/**
 * Every process relays the database's whole outbox (`for update skip locked`, so each event
 * once). Two processes relaying it differently, to NATS under two namespaces or one in process,
 * would each take and mark published events that the other's consumers wait for, silently. So a
 * process claims its relay at start and refuses to start when a live process of the same
 * database relays otherwise; claims are renewed every 10 s and lapse 30 s after the last renewal,
 * so a reconfiguration takes effect once the old processes have stopped.
 */
export async function claimRelay(db: Kysely<any>, relay: string, log: Logger, options: { heartbeatMs?: number } = {}): Promise<RelayClaim> {
  const processId = newId('prc');
  const other = await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`.execute(trx);
    await trx.deleteFrom('kernel.event_relays').where('seen_at', '<', sql<Date>`now() - make_interval(secs => ${RELAY_CLAIM_TTL_S})`).execute();
    const found = await trx
      .selectFrom('kernel.event_relays')
      .select(['relay', 'host', sql<number>`extract(epoch from now() - seen_at)::int`.as('seconds')])
      .where('relay', '<>', relay)
      .executeTakeFirst();
    if (!found) await trx.insertInto('kernel.event_relays').values({ process_id: processId, relay, host: hostname() }).execute();
    return found;
  });
  if (other) {
    throw new SevaBootError(
      `another process of this database (on ${other.host}, seen ${other.seconds} s ago) relays its events ${described(other.relay)}; this one would relay them ${described(relay)}, ` +
        `and each would take events the other's consumers wait for. Give every process of one database the same NATS_URL and SEVA_EVENTS_NAMESPACE, or stop the others first (a process that was killed leaves its claim for ${RELAY_CLAIM_TTL_S} s).`,
    );
  }
  const renew = () =>
    db
      .insertInto('kernel.event_relays')
      .values({ process_id: processId, relay, host: hostname() })
      .onConflict((oc) => oc.column('process_id').doUpdateSet({ seen_at: sql`now()` }))
      .execute()
      .catch((err) => log.warn({ err }, 'renewing the event relay claim failed'));
  const timer = setInterval(renew, options.heartbeatMs ?? HEARTBEAT_MS).unref();
  return {
    processId,
    release: async () => {
      clearInterval(timer);
      await db.deleteFrom('kernel.event_relays').where('process_id', '=', processId).execute();
    },
  };
}
