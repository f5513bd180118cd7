// What one upstream attempt did, noted by the upstream stage for trace export
// (shared/telemetry/tracing.ts turns it into a client span when the exchange
// ends). Noted only when trace export is on: the exchange's list is otherwise unset.
export interface AttemptRecord {
  readonly service: string;
  /** The instance's origin (http://host:port). */
  readonly instance: string;
  /** performance.now() when the attempt started, and when it ended; 0: it lasted until the exchange ended. */
  readonly startedAt: number;
  endedAt: number;
  /** The status the instance answered, 0 when it did not. */
  status: number;
  /** Why the attempt failed without an answer. */
  error: string | undefined;
}

export function startAttempt(attempts: AttemptRecord[], service: string, instance: string): AttemptRecord {
  const record: AttemptRecord = { service, instance, startedAt: performance.now(), endedAt: 0, status: 0, error: undefined };
  attempts.push(record);
  return record;
}
