import { readFileSync } from 'node:fs';
import { SevaBootError } from '../errors/boot-error.js';
import { configSchema, ENV_NAMES, type SevaConfig } from './schema.js';

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** A JSON file whose keys are the camelCase names; the environment overrides it. */
  file?: string | undefined;
  overrides?: Partial<SevaConfig>;
}

/** Settings whose value never appears in a message (they end up in logs). */
const SECRET_KEYS = new Set(['masterKey', 'databaseUrl', 'redisUrl', 'adminPassword', 's3AccessKeyId', 's3SecretAccessKey', 'smtpPassword', 'smsProviderKey', 'smsWebhookSecret', 'paymentGatewayKey', 'paymentGatewayWebhookSecret']);

/**
 * Reads the configuration from an optional JSON file and the environment, validates it, and
 * throws a SevaBootError whose message is one line naming each bad setting by its env name.
 */
export function loadConfig(options: LoadConfigOptions = {}): SevaConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.SEVA_CONFIG;
  const raw: Record<string, unknown> = file ? readConfigFile(file) : {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const value = env[envName];
    if (value === undefined || value === '') continue;
    raw[key] = key === 'moduleUrls' ? parseModuleUrls(value) : value;
  }
  Object.assign(raw, options.overrides);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const name = ENV_NAMES[key as keyof SevaConfig] ?? key;
      const rest = issue.path.slice(1).join('.');
      const got = raw[key];
      const shown = got === undefined || SECRET_KEYS.has(key) ? '' : ` (got ${JSON.stringify(got)})`;
      return `${name}${rest ? `.${rest}` : ''}: ${issue.message}${shown}`;
    });
    throw new SevaBootError(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SevaBootError(`config file ${path} cannot be read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the file (secrets included) over several lines: give a position only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    const where = position === undefined ? '' : ` at line ${text.slice(0, Number(position)).split('\n').length}`;
    throw new SevaBootError(`config file ${path} is not valid JSON${where}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SevaBootError(`config file ${path} must hold a JSON object of settings`);
  }
  return value as Record<string, unknown>;
}

function parseModuleUrls(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const [name, ...rest] = pair.split('=');
    if (!name?.trim()) continue;
    out[name.trim()] = rest.join('=').trim();
  }
  return out;
}
