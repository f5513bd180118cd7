// Stage: one path for routing, authorisation and the backend (see routing/path.ts).
import type { Stage } from '../exchange.js';
import { GatewayError } from '../errors.js';
import { normalizeTarget } from '../routing/path.js';

export const normalizePath: Stage = (ex, request) => {
  const target = normalizeTarget(request.raw.url ?? '');
  if (target === undefined) throw new GatewayError('bad_path', `refused target ${JSON.stringify((request.raw.url ?? '').slice(0, 200))}`);
  ex.path = target.path;
  ex.search = target.search;
};
