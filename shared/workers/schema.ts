// Config of how many processes serve a tier on one host (shared/workers/). Schema only: the supervisor
// and the worker side are supervisor.ts's and worker.ts's.
import { Type, type Static } from '@sinclair/typebox';

export const WorkersSchema = Type.Union([
  Type.Literal('auto'),
  Type.Integer({ minimum: 1, maximum: 256 }),
], {
  default: 1,
  description: 'processes serving this tier on the host: 1 is one process as before; N > 1 (or auto: one per core, '
    + 'os.availableParallelism()) starts a supervisor that forks N workers sharing the listeners through SO_REUSEPORT '
    + '(Linux) and replaces a worker that dies; leases and caches are per worker, listener ports must be fixed (not 0); restart only',
});

export type WorkersSetting = Static<typeof WorkersSchema>;
