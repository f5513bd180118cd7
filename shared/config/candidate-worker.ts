// Runs in a worker thread: parses and validates a candidate config with the loader module the entry point
// names, and posts back the config or the loader's messages. Kept off the serving thread because Ajv's
// code generation marks V8's object shapes for the whole isolate (see load.ts): a reload must not slow
// every later request of the process that serves them.
import { parentPort, workerData } from 'node:worker_threads';
import type { CandidateAnswer, CandidateRequest } from './candidate-validator.js';

interface LoaderModule {
  parseConfig(text: string, file: string, env: NodeJS.ProcessEnv, baseDir: string): unknown;
}

const loader = (await import((workerData as { loader: string }).loader)) as LoaderModule;

parentPort!.on('message', (m: CandidateRequest) => {
  let answer: CandidateAnswer;
  try {
    answer = { id: m.id, ok: true, config: loader.parseConfig(m.text, m.file, process.env, m.baseDir) };
  } catch (err) {
    const e = err as { name?: string; problems?: readonly string[]; message?: string };
    answer = e.name === 'ConfigError' && e.problems
      ? { id: m.id, ok: false, problems: [...e.problems] }
      : { id: m.id, ok: false, problems: [`the loader failed: ${e.message ?? String(err)}`] };
  }
  parentPort!.postMessage(answer);
});
