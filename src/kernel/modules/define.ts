import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Compilable, Kysely, Transaction } from 'kysely';
import type { z } from 'zod';
import type { SevaConfig } from '../config/schema.js';
import type { Migration } from '../db/migrations.js';
import type { NewEvent, SevaEvent } from '../events/types.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { Logger } from '../log/logger.js';
import type { Actor } from './actor.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type InputSchema = z.ZodObject<z.ZodRawShape>;

/** A module's public operation: the one place its business logic is reached from. */
export interface OperationDef<I extends InputSchema = InputSchema, O extends z.ZodType = z.ZodType> {
  summary: string;
  description?: string;
  input: I;
  output: O;
  /** The permission the actor must hold, or `public`. */
  permission: string;
  /** A REST route under `/api/<module>/v1`; path parameters (`:id`) are input fields. */
  http?: { method: HttpMethod; path: string; status?: number };
  /**
   * The input field(s) naming the tenant the call acts on (default `tenantId` and `tenant`); the
   * kernel refuses a user whose tenant does not cover it (`TENANT_FORBIDDEN`).
   */
  tenantField?: string | readonly string[];
  /**
   * The operation reads configuration that child tenants inherit (roles, departments, master
   * data): a caller may also name a tenant above its own. Writes never set this.
   */
  readsInherited?: boolean;
  handler(ctx: OperationContext, input: z.output<I>): Promise<z.input<O>>;
}

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  tenantId?: string | null;
  /** Facts about the change; never PII in plain text. */
  data?: Record<string, unknown>;
}

/** What a transaction body may do: write its module's tables, emit events and audit, atomically. */
export interface TxContext {
  db: Transaction<any>;
  emit(event: NewEvent): Promise<string>;
  audit(entry: AuditEntry): Promise<void>;
  /**
   * Inserts a row into one of the module's tables with the transaction's last statements (the
   * same as events and audit entries): for rows whose insert returns nothing the body needs.
   */
  insertLater(table: string, row: Record<string, unknown>): void;
  /**
   * The body's last step: runs `query` (an insert, update or delete with `returning`) and every
   * deferred insert as one statement, and returns its rows. When it returns none, nothing of it
   * is written and `whenNoRow()` is thrown. When no statement ran before it, that one statement is
   * the whole transaction: one round trip instead of BEGIN, the writes and COMMIT. The query's own
   * WITH clauses (`tx.db.with('d', (db) => db.updateTable(…)…).updateTable(…)`: updates of other
   * rows that go with it) are part of that statement and fail with it.
   */
  lastWrite<R = any>(query: Compilable<R>, whenNoRow: () => Error): Promise<R[]>;
}

export interface CryptoHelpers {
  encrypt(tenantId: string, plaintext: string): Promise<string>;
  decrypt(tenantId: string, ciphertext: string): Promise<string>;
  blindIndex(tenantId: string, purpose: string, value: string): string;
}

/** Everything an operation, consumer or job receives; transport-free by construction. */
export interface OperationContext {
  module: string;
  actor: Actor;
  requestId: string;
  log: Logger;
  /** This process's settings, for modules with their own (stores, limits); never log it whole. */
  config: Readonly<SevaConfig>;
  /** The module's own schema; unqualified table names resolve there. */
  db: Kysely<any>;
  transaction<T>(body: (tx: TxContext) => Promise<T>): Promise<T>;
  /** Other modules' operations, in process or over HTTP, as the actor of this context. */
  call<O = unknown>(module: string, operation: string, input: unknown): Promise<O>;
  jobs: { send(job: string, data: Record<string, unknown>, options?: { startAfterSeconds?: number; singletonKey?: string }): Promise<string | null> };
  crypto: CryptoHelpers;
}

export interface ConsumerDef {
  /** Event names this consumer receives. */
  events: readonly string[];
  /** Runs once per event per consumer, inside a transaction that records it as processed. */
  handler(ctx: OperationContext, event: SevaEvent, tx: TxContext): Promise<void>;
  maxAttempts?: number;
}

/**
 * Hears events in every process that runs the module (a consumer runs once per module, in one
 * replica). Best effort and outside any transaction: for in-memory state such as caches, never
 * for writes, which belong in a consumer.
 */
export interface ListenerDef {
  events: readonly string[];
  handler(event: SevaEvent): void | Promise<void>;
}

export interface JobDef {
  /** Cron expression (UTC) for timers; absent for jobs sent on demand. */
  schedule?: string;
  handler(ctx: OperationContext, data: Record<string, unknown>): Promise<void>;
}

export interface ModuleDef<Ops extends Record<string, OperationDef<any, any>> = Record<string, OperationDef<any, any>>> {
  name: string;
  summary?: string;
  dependsOn?: readonly string[];
  migrations?: readonly Migration[];
  operations?: Ops;
  events?: {
    publishes?: readonly string[];
    consumers?: Record<string, ConsumerDef>;
    listeners?: Record<string, ListenerDef>;
  };
  jobs?: Record<string, JobDef>;
  /** Routes that do not fit the operation shape (streams, provider webhooks). */
  routes?(app: FastifyInstance, runtime: ModuleRuntime): void | Promise<void>;
  /**
   * Turns a bearer token into an actor when this module issues such tokens (identity). `runtime`
   * is the same object on every call of one process, so a module may cache key material per runtime.
   */
  authenticate?(token: string, runtime: ModuleRuntime): Promise<Actor | undefined>;
  /** Loads demo data (`seva seed --demo`, and a fresh `npm start` on the embedded database). */
  seedDemo?(ctx: OperationContext, config: SevaConfig): Promise<SeedResult | void>;
  /**
   * Runs on every `seva start` and `seva seed` after migrations (and after the demo seed): makes
   * what an empty database needs to be usable at all (identity's first administrator). Must be
   * idempotent and safe when several processes start at once.
   */
  bootstrap?(ctx: OperationContext, config: SevaConfig): Promise<SeedResult | void>;
}

/** Credentials to print once, on the console only (never logged). */
export interface SeedResult {
  credentials?: Array<{ label: string; value: string }>;
}

/** What a module's custom routes get to run operations with the request's actor. */
export interface ModuleRuntime {
  /** This process's settings, available while the routes are registered (before the database is open). */
  config: Readonly<SevaConfig>;
  context(actor: Actor, requestId: string): OperationContext;
  /**
   * The request's actor, as operation routes see it (bearer token, or an internal caller's
   * token); anonymous without credentials, 401 for bad ones. Permissions stay the route's job.
   */
  authenticate(request: FastifyRequest): Promise<Actor>;
  /** Rate limits: per process, or shared by every process through Redis (`REDIS_URL`). */
  rateLimiter: RateLimiter;
}

export function defineOperation<I extends InputSchema, O extends z.ZodType>(def: OperationDef<I, O>): OperationDef<I, O> {
  return def;
}

export function defineModule<Ops extends Record<string, OperationDef<any, any>>>(def: ModuleDef<Ops>): ModuleDef<Ops> {
  return def;
}
