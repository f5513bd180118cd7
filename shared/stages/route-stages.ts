// Stage: run the matched route's own chain (built once per route at config
// load), so a policy a route does not use costs that route nothing.
import { runStages, type Stage } from '../exchange.js';
import type { RoutePlan } from './route-plan.js';

export const runRouteStages: Stage = (ex, request, reply) => {
  const stages = (ex.route!.data as RoutePlan).stages;
  return stages.length === 0 ? undefined : runStages(stages, ex, request, reply);
};
