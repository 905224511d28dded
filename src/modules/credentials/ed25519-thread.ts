import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ed25519Implementation, ed25519Verify } from './ed25519.js';

/**
 * Ed25519 verification on a thread of its own, for `POST /verify`: libsodium's ~50 µs per
 * signature is the largest single cost of a verification on the event loop, and a process
 * serving verifications can give it to another core. Requests go in small batches (one packed
 * buffer, transferred, not copied) and come back as one message per batch; a thread costs nothing
 * while no verification runs.
 *
 * Only with libsodium: the worker loads the same addon by its resolved path. Where the addon does
 * not load, or the worker dies, verification runs on the calling thread as before, so a caller
 * always gets an answer.
 */

/** Bytes of one request in a packed batch: signature, message (two SHA-256 digests), public key. */
const SIGNATURE = 64;
const MESSAGE = 64;
const KEY = 32;
const ITEM = SIGNATURE + MESSAGE + KEY;

/** The worker: a CommonJS script (`eval`), so that it runs the same from the sources and from the start bundle. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
parentPort.on('message', (packed) => {
  const bytes = new Uint8Array(packed);
  const count = bytes.length / ${ITEM};
  const results = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * ${ITEM};
    results[i] = sodium.crypto_sign_verify_detached(bytes.subarray(at, at + ${SIGNATURE}), bytes.subarray(at + ${SIGNATURE}, at + ${SIGNATURE + MESSAGE}), bytes.subarray(at + ${SIGNATURE + MESSAGE}, at + ${ITEM})) ? 1 : 0;
  }
  parentPort.postMessage(results, [results.buffer]);
});
`;

interface Pending {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
  resolve: (valid: boolean) => void;
}

let worker: Worker | undefined;
/** Whether a worker may be started: false where libsodium does not load or a worker failed to start. */
let usable: boolean | undefined;
/** Requests of this turn of the event loop, not yet sent. */
let gathering: Pending[] = [];
/** Batches sent, in order: the worker answers them in the order it received them. */
const sent: Pending[][] = [];

function startWorker(): Worker | undefined {
  if (usable === undefined) usable = ed25519Implementation() === 'libsodium';
  if (!usable) return undefined;
  if (worker) return worker;
  try {
    const sodiumPath = createRequire(import.meta.url).resolve('sodium-native');
    const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath } });
    started.unref();
    started.on('message', (results: Uint8Array) => {
      const batch = sent.shift() ?? [];
      batch.forEach((p, i) => p.resolve(results[i] === 1));
      if (sent.length === 0) started.unref();
    });
    // A worker that fails (cannot load the addon, or dies): what it held is verified here, and so is what follows.
    const fail = () => {
      if (worker !== started) return;
      worker = undefined;
      usable = false;
      for (const batch of sent.splice(0)) verifyHere(batch);
    };
    started.on('error', fail);
    started.on('exit', fail);
    worker = started;
    return worker;
  } catch {
    usable = false;
    return undefined;
  }
}

/** The verification thread's id while one runs (for tests and diagnostics): undefined when verifications run on the caller's thread. */
export function ed25519ThreadId(): number | undefined {
  return worker?.threadId;
}

function verifyHere(batch: Pending[]): void {
  for (const p of batch) p.resolve(ed25519Verify(p.signature, p.message, p.publicKey));
}

/**
 * Requests sent as soon as this many are waiting, the rest at the end of the turn: the worker
 * starts on the first while this thread still reads the others. Sent only at the end of the turn,
 * clients in step with the server kept one thread idle while the other worked (~5,400/s against
 * ~6,000/s with four in the benchmark).
 */
const CHUNK = 4;

function flushTurn(): void {
  if (gathering.length > 0) flush();
}

function flush(): void {
  const batch = gathering;
  gathering = [];
  const target = startWorker();
  if (!target) return verifyHere(batch);
  const packed = new Uint8Array(batch.length * ITEM);
  batch.forEach((p, i) => {
    const at = i * ITEM;
    packed.set(p.signature, at);
    packed.set(p.message, at + SIGNATURE);
    packed.set(p.publicKey, at + SIGNATURE + MESSAGE);
  });
  sent.push(batch);
  // Referenced while answers are owed, so a process waiting on one does not exit under it.
  target.ref();
  target.postMessage(packed.buffer, [packed.buffer]);
}

/**
 * Whether `signature` is `message`'s under the raw 32-byte `publicKey`, checked on the
 * verification thread; false for malformed input (checked here, as libsodium throws on it).
 */
export function ed25519VerifyOffThread(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.length !== SIGNATURE || message.length !== MESSAGE || publicKey.length !== KEY) return Promise.resolve(ed25519Verify(signature, message, publicKey));
  return new Promise((resolve) => {
    if (gathering.length === 0) setImmediate(flushTurn);
    gathering.push({ signature, message, publicKey, resolve });
    if (gathering.length === CHUNK) flush();
  });
}
