// GCRA in Redis: one atomic Lua script per policy counts every window of it,
// timed by Redis's own clock (TIME) so edge clocks cannot skew it. A
// policy's keys share one hash tag, so the script also runs on Redis Cluster.
// Several policies of one request go in one pipeline: one round trip.
import type { Redis, Cluster } from 'ioredis';
import type { Decision, Hit, RateLimitStore } from './store.js';

// KEYS: one per window. ARGV: per window, its emission interval and period (ms).
// Returns: allowed (0/1), retry-after ms, then per window remaining and reset ms.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tats = {}
local retry = 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local over = tat + interval - now - period
  if over > 0 and over > retry then retry = over end
  tats[i] = tat
end
local allowed = 1
if retry > 0 then allowed = 0 end
local out = { allowed, math.ceil(retry) }
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tats[i]
  if allowed == 1 then
    tat = tat + interval
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
    if (hits.length === 1) return [decode(await this.redis.gatehouseGcra(...args(hits[0]!)))];
    const pipeline = this.redis.pipeline() as unknown as { gatehouseGcra(...a: (string | number)[]): void; exec(): Promise<[Error | null, number[]][] | null> };
    for (const h of hits) pipeline.gatehouseGcra(...args(h));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, reply]) => {
      if (err) throw err;
      return decode(reply);
    });
  }
}

function args(h: Hit): (string | number)[] {
  const out: (string | number)[] = [h.windows.length];
  for (const w of h.windows) out.push(`${h.key}:${w.name}`);
  for (const w of h.windows) out.push(w.intervalMs, w.periodMs);
  return out;
}

function decode(reply: number[]): Decision {
  const remaining: number[] = [];
  const resetMs: number[] = [];
  for (let i = 2; i < reply.length; i += 2) {
    remaining.push(reply[i]!);
    resetMs.push(reply[i + 1]!);
  }
  return { allowed: reply[0] === 1, retryAfterMs: reply[1]!, remaining, resetMs };
}
