// Entry point of the security edge: node dist/edge/main.js --config gatehouse.yaml
import { runTier } from '../shared/main.js';
import { loadConfigFile } from '../config/load.js';
import { buildEdge } from './app.js';

await runTier('edge', loadConfigFile, buildEdge);
