// Entry point of the routing tier: node dist/router/main.js --config gatehouse.yaml
import { runTier } from '../shared/main.js';
import * as loader from '../config/load.js';
import { publishedRoutesOverlay } from '../config/published-overlay.js';
import { buildRouter } from './app.js';

await runTier('router', loader, buildRouter, publishedRoutesOverlay);
