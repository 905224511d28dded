import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const moduleUrl = z.string().url('must be a URL such as http://identity:8080');

/** Environment booleans: `true`/`false`/`1`/`0` (z.coerce.boolean would read "false" as true). */
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

/**
 * Everything a Seva process can be told, from the environment or a config file. Names here are
 * camelCase; the environment spells them in upper snake case (see ENV_NAMES).
 */
export const configSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default('./.seva/data'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  databasePoolSize: z.coerce.number().int().min(1).max(200).default(10),
  /** Named prepared statements for repeated queries; off behind a transaction-mode pooler. */
  databasePreparedStatements: flag.default(true),
  /**
   * Server processes one `seva start` runs, sharing the port: 1, or up to the machine's cores.
   * More than one needs PostgreSQL and NATS (src/server/cluster.ts).
   */
  processes: z.coerce.number().int().min(1).max(64).default(1),
  natsUrl: z
    .string()
    .regex(/^(nats|tls|wss?):\/\//, 'must be a nats:// URL')
    .optional(),
  /** Redis, for rate limits shared by every process of the deployment (in memory per process without it). */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Which modules run in this process: `all`, or a comma-separated list of module names. */
  modules: z.string().min(1).default('all'),
  /** Where modules that do not run here live: `name=url,name=url`. */
  moduleUrls: z.record(z.string(), moduleUrl).default({}),
  /** 32 bytes, base64 or hex. Optional on the embedded database (a key file is made in dataDir). */
  masterKey: z.string().optional(),
  /** Separates deployments or test runs sharing one NATS server (stream and subject names). */
  eventsNamespace: z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'must be lower case letters, digits and _').default('seva'),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** Largest request body accepted, in bytes. */
  bodyLimit: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(1024 * 1024),
  /** Public base URL of this deployment, used in links (defaults to http://host:port). */
  publicUrl: z.string().url().optional(),
  shutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** The first administrator's password on an empty database; a generated one is printed once otherwise. */
  adminPassword: z.string().min(1).max(200).optional(),
  /** The root tenant an empty database starts with (the demo always uses `in`). */
  rootTenant: z.string().regex(/^[a-z]{2,10}$/, 'must be 2 to 10 lower case letters, such as in').default('in'),
  rootTenantName: z.string().trim().min(1).max(200).optional(),
  /**
   * Which proxies to believe about the client address (`X-Forwarded-For`), for rate limits and
   * audit: `true`, a hop count, or comma-separated addresses/CIDRs. Off by default.
   */
  trustProxy: z
    .union([
      z.boolean(),
      z.string().regex(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/, 'must be true, false, a hop count, or addresses/CIDRs separated by commas'),
    ])
    .default(false)
    .transform((v): boolean | number | string[] => {
      if (typeof v === 'boolean' || v === 'true' || v === 'false') return v === true || v === 'true';
      return /^\d+$/.test(v) ? Number(v) : v.split(',');
    }),
  /** Where the files module keeps bytes: a local folder, or S3-compatible object storage. */
  filesStore: z.enum(['local', 's3']).default('local'),
  /** The local store's folder (default `<dataDir>/files`; a temporary folder for `memory://`). */
  filesDir: z.string().min(1).optional(),
  /** Largest file a tenant may upload unless the tenant (or a parent) has its own limit. */
  filesMaxBytes: z.coerce.number().int().min(1).max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
  /** Files attached to no record are expired (bytes deleted) after this many hours. */
  filesOrphanTtlHours: z.coerce.number().min(0).max(24 * 365).default(24),
  s3Endpoint: z.string().url().optional(),
  s3Bucket: z.string().min(3).max(63).optional(),
  s3Region: z.string().min(1).default('us-east-1'),
  s3AccessKeyId: z.string().min(1).optional(),
  s3SecretAccessKey: z.string().min(1).optional(),
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted servers need. */
  s3ForcePathStyle: flag.default(false),
  /** SMTP server for e-mail (notify); without it e-mail lands in the development outbox. */
  smtpHost: z.string().min(1).max(253).optional(),
  smtpPort: z.coerce.number().int().min(1).max(65535).default(587),
  /** `true` for implicit TLS (port 465); otherwise STARTTLS is used when the server offers it. */
  smtpSecure: z.union([z.boolean(), z.enum(['true', 'false'])]).default(false).transform((v) => v === true || v === 'true'),
  smtpUser: z.string().min(1).max(200).optional(),
  smtpPassword: z.string().min(1).max(500).optional(),
  smtpFrom: z.string().min(3).max(320).default('Seva <no-reply@seva.local>'),
  /** Messages per second the SMTP server accepts from us (token bucket shared by all processes). */
  smtpRate: z.coerce.number().positive().max(100_000).default(50),
  /** HTTP SMS provider (notify): JSON POST to this URL; without it SMS lands in the development outbox. */
  smsProviderUrl: z.string().url('must be a URL such as https://sms.example.org/v1/messages').optional(),
  smsProviderKey: z.string().min(1).max(500).optional(),
  smsSender: z.string().min(1).max(20).default('SEVA'),
  smsRate: z.coerce.number().positive().max(100_000).default(20),
  /** Shared secret the SMS provider signs delivery receipts with (HMAC-SHA256). */
  smsWebhookSecret: z.string().min(16, 'must be at least 16 characters').max(500).optional(),
  /** Payment gateway (billing): its API base URL; without it online payments are refused. */
  paymentGatewayUrl: z.string().url('must be a URL such as https://pay.example.org').optional(),
  /** The merchant's API key at the gateway (sent on server-to-server calls). */
  paymentGatewayKey: z.string().min(8, 'must be at least 8 characters').max(500).optional(),
  /** Shared secret the gateway signs redirects and webhooks with (HMAC-SHA256). */
  paymentGatewayWebhookSecret: z.string().min(16, 'must be at least 16 characters').max(500).optional(),
});

export type SevaConfig = z.infer<typeof configSchema>;

export const ENV_NAMES: Record<keyof SevaConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  dataDir: 'SEVA_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  databasePoolSize: 'SEVA_DATABASE_POOL_SIZE',
  databasePreparedStatements: 'SEVA_DATABASE_PREPARED_STATEMENTS',
  processes: 'SEVA_PROCESSES',
  natsUrl: 'NATS_URL',
  redisUrl: 'REDIS_URL',
  modules: 'SEVA_MODULES',
  moduleUrls: 'SEVA_MODULE_URLS',
  masterKey: 'SEVA_MASTER_KEY',
  eventsNamespace: 'SEVA_EVENTS_NAMESPACE',
  logLevel: 'LOG_LEVEL',
  bodyLimit: 'SEVA_BODY_LIMIT',
  publicUrl: 'SEVA_PUBLIC_URL',
  shutdownTimeoutMs: 'SEVA_SHUTDOWN_TIMEOUT_MS',
  adminPassword: 'SEVA_ADMIN_PASSWORD',
  rootTenant: 'SEVA_ROOT_TENANT',
  rootTenantName: 'SEVA_ROOT_TENANT_NAME',
  trustProxy: 'SEVA_TRUST_PROXY',
  filesStore: 'SEVA_FILES_STORE',
  filesDir: 'SEVA_FILES_DIR',
  filesMaxBytes: 'SEVA_FILES_MAX_BYTES',
  filesOrphanTtlHours: 'SEVA_FILES_ORPHAN_TTL_HOURS',
  s3Endpoint: 'S3_ENDPOINT',
  s3Bucket: 'S3_BUCKET',
  s3Region: 'S3_REGION',
  s3AccessKeyId: 'S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'S3_SECRET_ACCESS_KEY',
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  smtpHost: 'SEVA_SMTP_HOST',
  smtpPort: 'SEVA_SMTP_PORT',
  smtpSecure: 'SEVA_SMTP_SECURE',
  smtpUser: 'SEVA_SMTP_USER',
  smtpPassword: 'SEVA_SMTP_PASSWORD',
  smtpFrom: 'SEVA_SMTP_FROM',
  smtpRate: 'SEVA_SMTP_RATE',
  smsProviderUrl: 'SEVA_SMS_URL',
  smsProviderKey: 'SEVA_SMS_API_KEY',
  smsSender: 'SEVA_SMS_SENDER',
  smsRate: 'SEVA_SMS_RATE',
  smsWebhookSecret: 'SEVA_SMS_WEBHOOK_SECRET',
  paymentGatewayUrl: 'SEVA_PAYMENT_GATEWAY_URL',
  paymentGatewayKey: 'SEVA_PAYMENT_GATEWAY_KEY',
  paymentGatewayWebhookSecret: 'SEVA_PAYMENT_GATEWAY_WEBHOOK_SECRET',
};
