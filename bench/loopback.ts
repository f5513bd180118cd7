// Benchmark load goes to loopback only, whatever a caller passes.
export function assertLoopback(url: string): void {
  if (!/^https?:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/.test(url)) throw new Error(`bench load goes to loopback only, not ${url}`);
}
