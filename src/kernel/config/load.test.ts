import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SevaBootError } from '../errors/boot-error.js';
import { loadConfig, type LoadConfigOptions } from './load.js';

const root = mkdtempSync(join(tmpdir(), 'seva-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let fileCount = 0;
function configFile(content: string): string {
  const file = join(root, `config-${++fileCount}.json`);
  writeFileSync(file, content);
  return file;
}

/** The SevaBootError loadConfig throws, checked to be one line. */
function bootError(options: LoadConfigOptions): SevaBootError {
  let caught: unknown;
  try {
    loadConfig(options);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SevaBootError);
  const err = caught as SevaBootError;
  expect(err.message).not.toContain('\n');
  return err;
}

describe('loadConfig: defaults and the environment', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({ env: {} });
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe('./.seva/data');
    expect(config.modules).toBe('all');
    expect(config.moduleUrls).toEqual({});
    expect(config.logLevel).toBe('info');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.natsUrl).toBeUndefined();
    expect(config.masterKey).toBeUndefined();
  });

  it('maps each environment name onto its setting', () => {
    const config = loadConfig({
      env: {
        PORT: '9090',
        HOST: '0.0.0.0',
        SEVA_DATA_DIR: '/var/lib/seva',
        DATABASE_URL: 'postgres://seva@db:5432/seva',
        NATS_URL: 'nats://nats:4222',
        SEVA_MODULES: 'ping,pong',
        SEVA_MASTER_KEY: 'a-key-text',
        LOG_LEVEL: 'debug',
        SEVA_MODULE_URLS: 'a=http://x:1, b=http://y:2',
      },
    });
    expect(config.port).toBe(9090);
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/var/lib/seva');
    expect(config.databaseUrl).toBe('postgres://seva@db:5432/seva');
    expect(config.natsUrl).toBe('nats://nats:4222');
    expect(config.modules).toBe('ping,pong');
    expect(config.masterKey).toBe('a-key-text');
    expect(config.logLevel).toBe('debug');
    expect(config.moduleUrls).toEqual({ a: 'http://x:1', b: 'http://y:2' });
  });

  it('reads the proxy trust as off, true, a hop count or a list of addresses, and refuses anything else', () => {
    expect(loadConfig({ env: {} }).trustProxy).toBe(false);
    expect(loadConfig({ env: { SEVA_TRUST_PROXY: 'true' } }).trustProxy).toBe(true);
    expect(loadConfig({ env: { SEVA_TRUST_PROXY: '2' } }).trustProxy).toBe(2);
    expect(loadConfig({ env: { SEVA_TRUST_PROXY: '10.0.0.0/8,127.0.0.1' } }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(bootError({ env: { SEVA_TRUST_PROXY: 'everyone' } }).message).toMatch(/SEVA_TRUST_PROXY: must be true, false, a hop count/);
  });

  it('never echoes the admin password when it is refused', () => {
    const message = bootError({ env: { SEVA_ADMIN_PASSWORD: 'x'.repeat(300) } }).message;
    expect(message).toMatch(/^invalid configuration: SEVA_ADMIN_PASSWORD:/);
    expect(message).not.toContain('xxxx');
  });

  it('treats empty environment values as unset', () => {
    const config = loadConfig({ env: { PORT: '', SEVA_MODULES: '' } });
    expect(config.port).toBe(8080);
    expect(config.modules).toBe('all');
  });

  it('lets overrides win over the environment', () => {
    const config = loadConfig({ env: { PORT: '9090', LOG_LEVEL: 'debug' }, overrides: { port: 0 } });
    expect(config.port).toBe(0);
    expect(config.logLevel).toBe('debug');
  });
});

describe('loadConfig: a JSON config file', () => {
  it('reads camelCase keys from the file, and the environment overrides them', () => {
    const file = configFile(JSON.stringify({ port: 7000, host: '10.0.0.1', logLevel: 'warn', moduleUrls: { ping: 'http://ping:8080' } }));
    const fromFile = loadConfig({ env: {}, file });
    expect(fromFile.port).toBe(7000);
    expect(fromFile.host).toBe('10.0.0.1');
    expect(fromFile.logLevel).toBe('warn');
    expect(fromFile.moduleUrls).toEqual({ ping: 'http://ping:8080' });

    const overridden = loadConfig({ env: { PORT: '7001', SEVA_MODULE_URLS: 'pong=http://pong:9' }, file });
    expect(overridden.port).toBe(7001);
    expect(overridden.host).toBe('10.0.0.1');
    expect(overridden.moduleUrls).toEqual({ pong: 'http://pong:9' });
  });

  it('finds the file through SEVA_CONFIG when no file option is given', () => {
    const file = configFile(JSON.stringify({ modules: 'ping' }));
    expect(loadConfig({ env: { SEVA_CONFIG: file } }).modules).toBe('ping');
  });

  it('names the file when it cannot be read', () => {
    const missing = join(root, 'does-not-exist.json');
    const err = bootError({ env: {}, file: missing });
    expect(err.message).toContain(`config file ${missing} cannot be read`);
    expect(err.message).toContain('ENOENT');
  });

  it('names the file when the path is a folder', () => {
    const err = bootError({ env: {}, file: root });
    expect(err.message).toContain(`config file ${root} cannot be read`);
    expect(err.message).toContain('EISDIR');
  });

  // Root reads any file whatever its mode, so this one only runs as an ordinary user.
  it.skipIf(process.getuid?.() === 0)('names the file when it exists but is not readable', () => {
    const file = configFile('{}');
    chmodSync(file, 0o000);
    const err = bootError({ env: {}, file });
    expect(err.message).toContain(`config file ${file} cannot be read`);
  });

  it('says a file is not valid JSON, and that it must hold an object', () => {
    const broken = configFile('{"port": 80,');
    expect(bootError({ env: {}, file: broken }).message).toMatch(new RegExp(`^config file ${escape(broken)} is not valid JSON`));
    const array = configFile('[1, 2]');
    expect(bootError({ env: {}, file: array }).message).toBe(`config file ${array} must hold a JSON object of settings`);
  });

  // A real config file spans several lines; the error must still be one line, and must not quote
  // the file's text (it holds the database URL and the master key).
  it('keeps the invalid-JSON message on one line without quoting the file, for a multi-line file', () => {
    const file = configFile('{\n  "masterKey": "SECRETKEYTEXT",\n  "port": oops\n}\n');
    const err = bootError({ env: {}, file });
    expect(err.message).toContain(`config file ${file} is not valid JSON`);
    expect(err.message).not.toContain('SECRETKEYTEXT');
    expect(err.message).not.toContain('"port"');
    expect(err.message).toMatch(new RegExp(`^config file ${escape(file)} is not valid JSON( at line \\d+)?$`));
  });
});

describe('loadConfig: bad values', () => {
  it('PORT=abc names PORT', () => {
    const err = bootError({ env: { PORT: 'abc' } });
    expect(err.message).toMatch(/^invalid configuration: PORT: /);
    expect(err.message).toContain('"abc"');
  });

  it('a port out of range names PORT', () => {
    expect(bootError({ env: { PORT: '70000' } }).message).toMatch(/^invalid configuration: PORT: /);
  });

  it('LOG_LEVEL=loud names LOG_LEVEL and the allowed levels', () => {
    const err = bootError({ env: { LOG_LEVEL: 'loud' } });
    expect(err.message).toMatch(/^invalid configuration: LOG_LEVEL: /);
    expect(err.message).toContain('"loud"');
    expect(err.message).toContain('warn');
  });

  it('DATABASE_URL=mysql://... names DATABASE_URL and does not echo the URL', () => {
    const url = 'mysql://admin:hunter2@db.internal/seva';
    const err = bootError({ env: { DATABASE_URL: url } });
    expect(err.message).toBe('invalid configuration: DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('mysql');
  });

  it('never echoes the master key', () => {
    const err = bootError({ env: {}, file: configFile(JSON.stringify({ masterKey: 123456789 })) });
    expect(err.message).toMatch(/^invalid configuration: SEVA_MASTER_KEY: /);
    expect(err.message).not.toContain('123456789');
  });

  it('names a bad SEVA_MODULE_URLS entry by module', () => {
    const err = bootError({ env: { SEVA_MODULE_URLS: 'ping=http://ping:1,pong=not-a-url' } });
    expect(err.message).toMatch(/^invalid configuration: SEVA_MODULE_URLS\.pong: must be a URL/);
  });

  it('joins several problems into one line, each named by its env var', () => {
    const err = bootError({ env: { PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', NATS_URL: 'http://nats' } });
    const problems = err.message.replace(/^invalid configuration: /, '').split('; ');
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'NATS_URL', 'PORT']);
    expect(err.message).not.toContain('mysql://x');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
