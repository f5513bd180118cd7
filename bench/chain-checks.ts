// Proof that a case's chain does its work before it is timed: requests it
// must answer a given way (the secured case: a bad token 401, a forbidden
// consumer 403, a client over its rate limit 429), status and JSON error code
// both. A case failing one is never measured: the bench stops, naming it.
import { request, type Dispatcher } from 'undici';
import type { ErrorCode } from '../shared/errors.js';

export interface ChainCheck {
  /** Names the check in the results (BenchRow.verified) and in the error when it fails. */
  readonly name: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The answers to expect, one request each, in order; error is the JSON body's `error` field. */
  readonly expect: readonly { readonly status: number; readonly error?: ErrorCode }[];
}

/** Runs every check against the case's origin; resolves with their names, or throws naming the first that failed. */
export async function verifyChain(caseName: string, origin: string, checks: readonly ChainCheck[], dispatcher: Dispatcher): Promise<string[]> {
  for (const check of checks) {
    for (const [i, want] of check.expect.entries()) {
      const got = await answer(new URL(check.path, origin).href, check.headers, dispatcher);
      if (got.status !== want.status || (want.error !== undefined && got.error !== want.error)) {
        const which = check.expect.length > 1 ? `, request ${i + 1} of ${check.expect.length}` : '';
        throw new Error(`bench: ${caseName} failed its check "${check.name}"${which}: expected ${want.status}${want.error ? ` with error "${want.error}"` : ''}, got ${got.status} ${got.body.slice(0, 300) || '(no body)'}. Nothing was measured.`);
      }
    }
  }
  return checks.map((c) => c.name);
}

async function answer(url: string, headers: Readonly<Record<string, string>>, dispatcher: Dispatcher): Promise<{ status: number | string; body: string; error: unknown }> {
  try {
    const res = await request(url, { headers, dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const body = await res.body.text();
    let error: unknown;
    try { error = (JSON.parse(body) as { error?: unknown }).error; } catch { /* not JSON: no error code to compare */ }
    return { status: res.statusCode, body, error };
  } catch (err) {
    return { status: `no answer (${(err as Error).message})`, body: '', error: undefined };
  }
}
