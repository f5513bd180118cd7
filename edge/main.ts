// Entry point of the security edge: node dist/edge/main.js --config gatehouse.yaml
import { runTier } from '../shared/main.js';
import * as loader from '../config/load.js';
import { publishedRoutesOverlay } from '../config/published-overlay.js';
import { buildEdge } from './app.js';

await runTier('edge', loader, buildEdge, publishedRoutesOverlay);
