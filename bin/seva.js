#!/usr/bin/env node
// Runs Seva from a bundle of the TypeScript sources, rebuilt here whenever a source is newer:
// no separate build step between a clone and `npm start`, and no compiler on the start path.
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'seva.cjs');
const codeCache = `${bundle}.cache`;

// Commands that open the embedded database get PGlite's WebAssembly compiled on V8's background
// threads while the bundle below loads on the main one (the kernel's db/pglite-wasm.ts takes it).
if (['start', 'migrate', 'seed'].includes(process.argv[2] ?? '') && !process.env.DATABASE_URL) {
  // Baseline (Liftoff) code only for PGlite: optimising its hot functions in the background costs
  // a start about half its CPU and stalls the main thread for ~0.2 s once it is ready, while its
  // queries run within ~10 % as fast without (bench/README.md). Only WebAssembly is affected.
  v8.setFlagsFromString('--liftoff-only');
  const wasm = new URL('./pglite.wasm', import.meta.resolve('@electric-sql/pglite'));
  const compiled = readFile(wasm).then((bytes) => WebAssembly.compile(bytes));
  compiled.catch(() => {});
  globalThis[Symbol.for('seva.pglite.wasm')] = compiled;
}

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function bundleTime() {
  try {
    return statSync(bundle).mtimeMs;
  } catch {
    return 0;
  }
}

// Packages that find files beside themselves (WebAssembly, static assets) or that load optional
// native parts stay outside the bundle, and so do large libraries loaded only when configured (S3,
// SMTP, PDF, JSON-LD); everything else is bundled, which halves the load time.
const EXTERNAL = ['@electric-sql/pglite', '@node-rs/argon2', 'pg', 'pg-native', 'nats', 'ioredis', 'pino', 'thread-stream', 'esbuild', 'sharp', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'nodemailer', 'pdfkit', 'jsonld'];

if (bundleTime() < Math.max(newestSource(join(root, 'src')), statSync(join(root, 'package-lock.json')).mtimeMs)) {
  const { build, stop } = await import('esbuild');
  // Built in a folder of its own and moved into place, so a process starting meanwhile never
  // reads half a file; the map keeps its relative name.
  const staging = join(dirname(bundle), `.build-${process.pid}`);
  // esbuild's API runs its service in a child process that otherwise lives as long as Seva.
  await build({
    entryPoints: [join(root, 'src', 'server', 'cli.ts')],
    outfile: join(staging, 'seva.cjs'),
    bundle: true,
    platform: 'node',
    // CommonJS, because only a classic script can be given V8's code cache on Node 20.
    format: 'cjs',
    target: 'node20',
    // import() of an external package becomes require(): code V8 restores from the cache cannot
    // call import() on Node 20 (the callback Node keys on the script is not restored with it).
    supported: { 'dynamic-import': false },
    external: EXTERNAL,
    define: { 'import.meta.url': '__sevaModuleUrl' },
    banner: { js: "const __sevaModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    sourcemap: 'linked',
    logLevel: 'error',
  }).finally(() => stop());
  rmSync(codeCache, { force: true });
  renameSync(join(staging, 'seva.cjs.map'), `${bundle}.map`);
  renameSync(join(staging, 'seva.cjs'), bundle);
  rmSync(staging, { recursive: true, force: true });
}

// V8's code cache: what compiling the bundle and running a start produced last time, so a start
// parses and compiles far less. V8 refuses a cache made from other source or by another V8, and
// then one is made again once this start is ready.
let cachedData;
try {
  cachedData = readFileSync(codeCache);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`, {
  filename: bundle,
  cachedData,
});
if (!cachedData || script.cachedDataRejected) {
  globalThis[Symbol.for('seva.codeCache.save')] = () => {
    try {
      const staged = `${codeCache}.${process.pid}`;
      writeFileSync(staged, script.createCachedData());
      renameSync(staged, codeCache);
    } catch {
      // A read-only install starts without the cache; nothing else depends on it.
    }
  };
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
