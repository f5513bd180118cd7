// GCRA in Redis: one atomic Lua script per policy counts every window of it,
// timed by Redis's own clock (TIME) so edge clocks cannot skew it. A
// policy's keys share one hash tag, so the script also runs on Redis Cluster.
// Several policies of one request go in one pipeline: one round trip. The same
// script grants leases (mode: leased, lease.ts), so exact and leased counting
// share one arithmetic and one key layout.
import type { Redis, Cluster } from 'ioredis';
import type { Decision, Hit, RateLimitStore } from './store.js';

// KEYS: one per window. ARGV: per window, its emission interval and period (ms);
// then, for a lease (mode: leased), tokens wanted (this request's included),
// the lease's lifetime (ms) and its share divisor.
// Returns: allowed (0/1), retry-after ms, tokens leased beyond this request's,
// then per window remaining and reset ms.
// A leased token is charged as if spent when its lease expires (the window's
// TAT moves to at least now + ttl before the lease is added): however late
// within its lifetime the edge spends it, the window never credits the refill
// of that time to anyone else, so leases can never admit more than the limit.
// A lease takes at most 1/share of what the fullest-spent window has left, so
// leases shrink to nothing (one round trip per request) as a window empties.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local extra = (tonumber(ARGV[2 * n + 1]) or 1) - 1
local ttl = tonumber(ARGV[2 * n + 2]) or 0
local share = tonumber(ARGV[2 * n + 3]) or 1
local tats = {}
local retry = 0
for i = 1, n do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local over = tat + interval - now - period
  if over > 0 and over > retry then retry = over end
  tats[i] = tat
  if extra > 0 then
    local left = math.floor((now + period - tat) / interval) - 1
    local fits = math.floor((now + period - math.max(tat + interval, now + ttl)) / interval)
    extra = math.min(extra, math.floor(left / share), fits)
  end
end
local allowed = 1
if retry > 0 then allowed = 0 end
if extra < 0 or allowed == 0 then extra = 0 end
local out = { allowed, math.ceil(retry), extra }
for i = 1, n do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tats[i]
  if allowed == 1 then
    tat = tat + interval
    if extra > 0 then tat = math.max(tat, now + ttl) + extra * interval end
    redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.max(1, math.ceil(tat - now)))
  end
  local remaining = math.floor((period - (tat - now)) / interval)
  if remaining < 0 then remaining = 0 end
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(tat - now)
end
return out
`;

type Scripted = (Redis | Cluster) & { gatehouseGcra(...args: (string | number)[]): Promise<number[]> };

export class RedisStore implements RateLimitStore {
  private readonly redis: Scripted;

  constructor(redis: Redis | Cluster) {
    // defineCommand sends EVALSHA and falls back to EVAL once, after a script cache flush.
    redis.defineCommand('gatehouseGcra', { lua: GCRA });
    this.redis = redis as Scripted;
  }

  async hit(hits: readonly Hit[]): Promise<Decision[]> {
    if (hits.length === 1) return [decode(await this.redis.gatehouseGcra(...args(hits[0]!)), hits[0]!)];
    const pipeline = this.redis.pipeline() as unknown as { gatehouseGcra(...a: (string | number)[]): void; exec(): Promise<[Error | null, number[]][] | null> };
    for (const h of hits) pipeline.gatehouseGcra(...args(h));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, reply], i) => {
      if (err) throw err;
      return decode(reply, hits[i]!);
    });
  }
}

function args(h: Hit): (string | number)[] {
  const out: (string | number)[] = [h.windows.length];
  for (const w of h.windows) out.push(`${h.key}:${w.name}`);
  for (const w of h.windows) out.push(w.intervalMs, w.periodMs);
  if (h.lease !== undefined) out.push(h.lease.want, h.lease.ttlMs, h.lease.share);
  return out;
}

function decode(reply: number[], h: Hit): Decision {
  const remaining: number[] = [];
  const resetMs: number[] = [];
  for (let i = 3; i < reply.length; i += 2) {
    remaining.push(reply[i]!);
    resetMs.push(reply[i + 1]!);
  }
  const allowed = reply[0] === 1;
  const retryAfterMs = reply[1]!;
  return h.lease === undefined ? { allowed, retryAfterMs, remaining, resetMs } : { allowed, retryAfterMs, remaining, resetMs, leased: reply[2]! };
}
