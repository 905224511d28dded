#!/usr/bin/env node
// Runs Seva from a bundle of the TypeScript sources, rebuilt here whenever a source is newer:
// no separate build step between a clone and `npm start`, and no compiler on the start path.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'seva.mjs');

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
const EXTERNAL = ['@electric-sql/pglite', '@node-rs/argon2', 'pg', 'pg-native', 'pg-boss', 'nats', 'ioredis', 'pino', 'thread-stream', 'esbuild', 'sharp', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'nodemailer', 'pdfkit', 'jsonld'];

if (bundleTime() < Math.max(newestSource(join(root, 'src')), statSync(join(root, 'package-lock.json')).mtimeMs)) {
  const { build } = await import('esbuild');
  // Built in a folder of its own and moved into place, so a process starting meanwhile never
  // reads half a file; the map keeps its relative name.
  const staging = join(dirname(bundle), `.build-${process.pid}`);
  await build({
    entryPoints: [join(root, 'src', 'server', 'cli.ts')],
    outfile: join(staging, 'seva.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: "import { createRequire as __sevaCreateRequire } from 'node:module'; const require = __sevaCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    logLevel: 'error',
  });
  renameSync(join(staging, 'seva.mjs.map'), `${bundle}.map`);
  renameSync(join(staging, 'seva.mjs'), bundle);
  rmSync(staging, { recursive: true, force: true });
}
await import(pathToFileURL(bundle).href);
