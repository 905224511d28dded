import { CompiledQuery, WithSchemaPlugin, type Kysely, type Transaction } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import { blindIndex } from '../crypto/blind-index.js';
import type { SevaConfig } from '../config/schema.js';
import type { KeyRing } from '../crypto/envelope.js';
import type { Database } from '../db/database.js';
import { SevaError } from '../errors/seva-error.js';
import { writeEvent } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import { lazyChild, type Logger } from '../log/logger.js';
import type { Actor } from './actor.js';
import type { OperationContext, TxContext } from './define.js';
import { afterCommit, currentTransaction, deferInsert, inTransaction, lastWrite, ownWith } from '../db/transaction-scope.js';

/** What every context of this process shares; built once by the runtime. */
export interface ContextServices {
  config: Readonly<SevaConfig>;
  database: Database;
  log: Logger;
  keyRing: KeyRing;
  masterKey: Buffer;
  jobs: JobQueue;
  wakeEvents(): void;
  /** A hint to the audit sealer that audited changes committed. */
  wakeAudit(): void;
  /** Which events each module declared it publishes. */
  publishes: ReadonlyMap<string, ReadonlySet<string>>;
  call(ctx: OperationContext, module: string, operation: string, input: unknown): Promise<unknown>;
}

export function createContext(services: ContextServices, module: string, actor: Actor, requestId: string): OperationContext {
  const base = services.database.db;
  const log = lazyChild(services.log, { module, requestId, tenant: actor.tenantId, actor: actor.id });
  const ctx: OperationContext = {
    module,
    actor,
    requestId,
    log,
    config: services.config,
    get db() {
      return inSchema(currentTransaction() ?? base, module);
    },
    transaction: (body) => inTransaction(base, (trx) => body(txContext(services, module, actor, requestId, trx))),
    call: async <O>(target: string, operation: string, input: unknown) => (await services.call(ctx, target, operation, input)) as O,
    jobs: {
      send: (job, data, options = {}) => {
        const trx = currentTransaction();
        return services.jobs.send(job.includes('.') ? job : `${module}.${job}`, data, {
          ...options,
          executeSql: trx ? executorOf(trx) : undefined,
        });
      },
    },
    crypto: {
      encrypt: (tenantId, plaintext) => services.keyRing.encrypt(tenantId, plaintext),
      decrypt: (tenantId, ciphertext) => services.keyRing.decrypt(tenantId, ciphertext),
      blindIndex: (tenantId, purpose, value) => blindIndex(services.masterKey, tenantId, `${module}.${purpose}`, value),
    },
  };
  return ctx;
}

export function txContext(services: ContextServices, module: string, actor: Actor, requestId: string, trx: Transaction<any>): TxContext {
  return {
    db: inSchema(trx, module),
    emit: async (event) => {
      const declared = services.publishes.get(module);
      if (!declared?.has(event.name)) {
        throw new SevaError('EVENT_NOT_DECLARED', 500, `Module ${module} does not declare that it publishes ${event.name}`);
      }
      const id = await writeEvent(trx, { ...event, tenantId: event.tenantId ?? actor.tenantId ?? null }, { actorId: actor.id, requestId });
      afterCommit(services.wakeEvents);
      return id;
    },
    audit: async (entry) => {
      const full = {
        tenantId: entry.tenantId ?? actor.tenantId ?? null,
        actorId: actor.id,
        action: entry.action,
        entityType: entry.entityType,
        entityId: entry.entityId,
        requestId,
        data: entry.data,
      };
      // Serialized now: the entry records the data as it was when the change was made.
      await appendAudit(trx, full);
      afterCommit(services.wakeAudit);
    },
    insertLater: (table, row) => {
      const qualified = `${module}.${table}`;
      if (!deferInsert(trx, qualified, row)) throw new SevaError('NOT_IN_TRANSACTION', 500, `insertLater into ${qualified} outside its transaction`);
    },
    lastWrite: (query, whenNoRow) => {
      const { main, own } = ownWith(trx, query);
      return lastWrite(trx, main, whenNoRow, own);
    },
  };
}

/**
 * A module's view of a database or transaction, made once per pair: Kysely builds a new instance
 * and plugin on every `withSchema`, which cost a read served from memory more than its own work
 * whenever an operation merely asked `ctx.db.isTransaction`. Weakly held, so a finished
 * transaction's views go with it.
 */
const schemaViews = new WeakMap<Kysely<any>, Map<string, Kysely<any>>>();

/**
 * One schema plugin per module for the life of the process. `withSchema` makes a new one, and
 * its transformer binds a hundred methods when built: per transaction, that was the largest part
 * of what a workflow transition left for the old generation (~20 % of the bytes that survived a
 * young collection). Its state lives only within one synchronous transform, so sharing it is
 * safe. `withPlugin` adds it last where `withSchema` adds it first: the same here, as Seva's
 * Kysely instances carry no other plugin.
 */
const schemaPlugins = new Map<string, WithSchemaPlugin>();

function inSchema<D extends Kysely<any>>(db: D, module: string): D {
  let views = schemaViews.get(db);
  if (!views) schemaViews.set(db, (views = new Map()));
  let view = views.get(module);
  if (!view) {
    let plugin = schemaPlugins.get(module);
    if (!plugin) schemaPlugins.set(module, (plugin = new WithSchemaPlugin(module)));
    views.set(module, (view = db.withPlugin(plugin)));
  }
  return view as D;
}

/** Lets a library that brings its own SQL (the job queue) write inside our transaction. */
function executorOf(trx: Kysely<any>) {
  return async (text: string, values?: unknown[]) => {
    const result = await trx.executeQuery(CompiledQuery.raw(text, values ?? []));
    return { rows: result.rows as any[] };
  };
}
