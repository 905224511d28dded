import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Field names whose values never reach a log line, wherever they sit (two levels deep covers
 * request headers and bodies). PII belongs here as much as secrets do.
 */
const SENSITIVE = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-seva-actor',
  'password',
  'newPassword',
  'otp',
  'code',
  'secret',
  'clientSecret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'masterKey',
  'apiKey',
  'smtpPassword',
  'smsProviderKey',
  'smsWebhookSecret',
  'paymentGatewayKey',
  'paymentGatewayWebhookSecret',
  'recipient',
  'mobile',
  'mobileNumber',
  'phone',
  'email',
  'aadhaar',
  'nationalId',
  'dob',
  'dateOfBirth',
  'pii',
];

export const REDACT_PATHS = SENSITIVE.flatMap((key) => {
  const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const dot = k.startsWith('[') ? k : `.${k}`;
  return [k, `*${dot}`, `*.*${dot}`];
});

export function createLogger(options: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  const config: LoggerOptions = {
    level: options.level,
    name: options.name ?? 'seva',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/**
 * A child logger made on first use. Creating a pino child applies the redaction rules to its
 * bindings, which costs more than most units of work that never log at all.
 */
const LEVEL_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => {};

export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let real: Logger | undefined;
  const make = () => (real ??= parent.child(bindings));
  return new Proxy({} as Logger, {
    get(_target, prop) {
      if (!real) {
        // Reading the level, or a call below it, needs no child at all; a call above it makes
        // the child when it happens (Fastify looks every method up on each request's logger).
        if (prop === 'level') return parent.level;
        if (prop === 'isLevelEnabled') return parent.isLevelEnabled.bind(parent);
        if (typeof prop === 'string' && LEVEL_METHODS.has(prop)) {
          if (!parent.isLevelEnabled(prop)) return noop;
          return (...args: unknown[]) => (make() as any)[prop](...args);
        }
        if (prop === 'child') {
          return (more: Record<string, unknown>, options?: unknown) => (options === undefined ? lazyChild(parent, { ...bindings, ...more }) : make().child(more, options as any));
        }
      }
      const value = Reflect.get(make(), prop, real);
      return typeof value === 'function' ? value.bind(real) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(make(), prop, value, real);
    },
  });
}
