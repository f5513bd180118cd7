// The secured edge's Redis round trips per request, read off its own
// /metrics (admin listener) before and after a load: the rate limiter's
// round trips made, over the requests the edge answered in between.
import { request } from 'undici';

export interface RoundTripCount { readonly made: number; readonly requests: number }

export async function scrapeRoundTrips(metricsUrl: string): Promise<RoundTripCount> {
  const res = await request(metricsUrl);
  if (res.statusCode !== 200) throw new Error(`bench: ${metricsUrl} answered ${res.statusCode}`);
  return countRoundTrips(await res.body.text());
}

/** Sums every series of the two counters (all policies, routes, methods and status classes) in Prometheus text. */
export function countRoundTrips(text: string): RoundTripCount {
  let made = 0, requests = 0;
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('gatehouse_ratelimit_redis_roundtrips_total{') && line.includes('result="made"')) made += value;
    else if (line.startsWith('gatehouse_requests_total{')) requests += value;
  }
  return { made, requests };
}

export const roundTripsPerRequest = (before: RoundTripCount, after: RoundTripCount): number =>
  (after.made - before.made) / Math.max(1, after.requests - before.requests);
