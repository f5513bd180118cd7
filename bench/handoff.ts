// Micro-benchmark of the identity hand-off and token caches, in CPU
// microseconds per request: the steady-state budget is 10 us per tier.
// Run: npm run build && node dist/bench/handoff.js
import { randomBytes } from 'node:crypto';
import { AssertionSigner, AssertionVerifier } from '../shared/identity.js';
import type { Identity } from '../shared/auth-types.js';

const config = { keys: [{ id: 'bench', secret: randomBytes(32).toString('hex') }], ttlSeconds: 60 };
const signer = new AssertionSigner(config);
const verifier = new AssertionVerifier(config);
const identity: Identity = Object.freeze({ consumer: 'acme', method: 'jwt', scopes: ['orders:read'], roles: ['buyer'], claims: { tenant: 't1' }, issuer: 'https://idp/' });

async function cpuMicrosPerOp(label: string, n: number, op: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < 1000; i++) await op(i); // warm-up
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = op(i);
    if (r instanceof Promise) await r;
  }
  const used = process.cpuUsage(start);
  console.log(`${label.padEnd(48)} ${((used.user + used.system) / n).toFixed(3)} CPU-us/op`);
}

const assertion = await signer.assertionFor(identity);
await verifier.verify(assertion);
await cpuMicrosPerOp('edge: assertion for a known identity (cached)', 200_000, () => signer.assertionFor(identity));
await cpuMicrosPerOp('edge: assertion for an equal identity (by value)', 200_000, () => signer.assertionFor({ ...identity }));
await cpuMicrosPerOp('router: verify a seen assertion (cached)', 200_000, () => verifier.verify(assertion));
const fresh = new AssertionSigner({ ...config, ttlSeconds: 60 });
await cpuMicrosPerOp('edge: sign a new identity (cold, HS256 via jose)', 5_000, (i) => fresh.assertionFor({ ...identity, consumer: `c${i}` }));
const signed = await Promise.all(Array.from({ length: 5_000 }, (_, i) => fresh.assertionFor({ ...identity, consumer: `v${i}` })));
const coldVerifier = new AssertionVerifier(config);
await cpuMicrosPerOp('router: verify a new assertion (cold, HS256 via jose)', 5_000, (i) => coldVerifier.verify(signed[i % signed.length]));
