/**
 * The launcher (`bin/seva.js`) starts compiling PGlite's WebAssembly on V8's background threads
 * before it loads the bundle, and leaves the promise here; compiling it only when the database
 * opens would leave the main thread idle for that long on every start.
 */
const PREFETCHED = Symbol.for('seva.pglite.wasm');

/** The module the launcher compiled, once; undefined when it did not (tests, PostgreSQL) or failed. */
export async function takePrefetchedPgliteWasm(): Promise<WebAssembly.Module | undefined> {
  const holder = globalThis as Record<symbol, Promise<WebAssembly.Module | undefined> | undefined>;
  const pending = holder[PREFETCHED];
  delete holder[PREFETCHED];
  return pending?.catch(() => undefined);
}
