/**
 * The kernel's public surface: the only kernel import a module may use (lint enforces it).
 * Modules get everything else through the context their operations receive.
 */
export { z } from 'zod';
export { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';

export { loadConfig } from './config/load.js';
export { configSchema, ENV_NAMES, type SevaConfig } from './config/schema.js';
export { openDatabase, type Database } from './db/database.js';
export { runMigrations, type Migration, type MigrationSet } from './db/migrations.js';
export { kernelMigrations } from './kernel-migrations.js';
export { SevaBootError } from './errors/boot-error.js';
export { SevaError, KernelErrors, isSevaError, type FieldProblem } from './errors/seva-error.js';
export { createLogger, type Logger } from './log/logger.js';
export { newId, isId } from './crypto/ids.js';
export { zodProblems } from './errors/zod-problems.js';
export { verifyAuditChain } from './audit/verify.js';
export { sealAllAudit } from './audit/audit-log.js';
export { renderTemplate, templateVariables, escapeHtml, TemplateSyntaxError, TemplateVariablesMissing, type Escaping } from './templates/render.js';
export type { SevaEvent, NewEvent } from './events/types.js';
export { ANONYMOUS, PUBLIC, can, systemActor, type Actor } from './modules/actor.js';
export { tenantCovers, tenantChain, tenantCode, TENANT_CODE } from './modules/tenant-scope.js';
export { canonicalLocale, DEFAULT_LOCALE, localeChain, localeTag, textDirection } from './i18n/locales.js';
export { jsonSchemaProblem, validateJson } from './validation/json-schema.js';
export { evaluateExpression, conditionHolds, expressionProblems, isTruthy, type Expression } from './expressions/evaluate.js';
export {
  parseSlaDuration,
  addBusinessDuration,
  addElapsedDuration,
  isBusinessDay,
  type SlaDuration,
  type BusinessCalendar,
} from './calendar/business-days.js';
export {
  defineModule,
  defineOperation,
  type ModuleDef,
  type ModuleRuntime,
  type OperationDef,
  type OperationContext,
  type TxContext,
  type ConsumerDef,
  type ListenerDef,
  type JobDef,
  type AuditEntry,
  type SeedResult,
} from './modules/define.js';
export { planModules, type ModulePlan } from './modules/registry.js';
export {
  ACCESS_TOKEN_ALG,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  JWKS_PATH,
  accessTokenKid,
  actorFromClaims,
  verifyAccessToken,
  VerifiedTokenCache,
} from './http/jwt-verifier.js';
export { FreshCache, type FreshCacheOptions, type CacheLoader } from './cache/fresh-cache.js';
export { MemoryRateLimiter, type RateLimiter, type RateRule } from './limits/rate-limiter.js';
export { startRuntime, planForConfig, migrationSets, resolveMasterKey, type Runtime, type StartOptions } from './runtime.js';
