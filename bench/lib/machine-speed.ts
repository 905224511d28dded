import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { median } from './report.js';

/**
 * A fixed piece of CPU work timed on this thread, so that figures from runs hours apart can be
 * read against how fast the machine was: on a shared virtual machine the same code measures
 * 20–45 % slower in some hours (Ed25519 checks of 47 µs in one hour, 55–71 µs in another), and
 * every figure of a run moves with it. OpenSSL's Ed25519 check and a JSON round trip of a
 * credential-sized document: one native, one JavaScript. Lower is faster.
 */
export function machineSpeed(): { ed25519Us: number; jsonUs: number } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const message = Buffer.alloc(64, 7);
  const signature = sign(null, message, privateKey);
  const document = { '@context': ['https://www.w3.org/ns/credentials/v2'], type: ['VerifiableCredential'], issuer: 'did:web:example', credentialSubject: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field${i}`, `value number ${i}`])) };
  // The median of short runs: the machine's speed changes from one second to the next.
  const typical = (runs: number, count: number, work: () => void) => {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      for (let i = 0; i < count; i++) work();
      times.push(((performance.now() - started) * 1000) / count);
    }
    return median(times);
  };
  return {
    ed25519Us: typical(9, 300, () => verify(null, message, publicKey, signature)),
    jsonUs: typical(9, 2_000, () => JSON.parse(JSON.stringify(document))),
  };
}
