// CPU of one Ed25519 verification (node:crypto, as the key directory does it) on a real token's
// signing input, printed as one JSON line. Run on the server's core by run.ts, next to the cold
// figure, so "a cold key costs about one signature check" compares numbers of the same run.
import { generateKeyPairSync, sign, verify } from 'node:crypto';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const N = Number(process.env.VERIFY_N ?? 20_000);
// a signing input of our tokens' size (header.payload ≈ 300 bytes), each one distinct
const inputs = Array.from({ length: 256 }, (_, i) => Buffer.from(`${'x'.repeat(290)}.${i}`));
const sigs = inputs.map((b) => sign(null, b, privateKey));
for (let i = 0; i < 2000; i++) verify(null, inputs[i & 255] as Buffer, publicKey, sigs[i & 255] as Buffer);
const c0 = process.cpuUsage();
for (let i = 0; i < N; i++)
  if (!verify(null, inputs[i & 255] as Buffer, publicKey, sigs[i & 255] as Buffer)) throw new Error('verify failed');
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ verifyUs: (c.user + c.system) / N }));
