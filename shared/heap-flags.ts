// The Node flags every tier process runs with, wherever it is started: npm start (deploy/dev/start.ts), the
// image (deploy/Dockerfile sets the same in NODE_OPTIONS; test/deploy/heap-flags.test.ts holds them equal),
// the workers' supervisor (its forks inherit execArgv) and the bench. They are flags, not code, because V8
// sizes its heap once, when the process starts.
//
// Why: on a host with a few GiB or more, Node 24 lets each young-generation semi-space grow to 32 MB, and a
// tier under load touches all of it: measured on the bare chain (2026-12-03, wrk, 50 connections), peak RSS
// 254 MB edge and 238 MB router by default, 189 and 188 with 4 MB semi-spaces. The CPU per request of paired
// rounds did not move beyond their noise (edge 186 against 196 µs, router 151 against 153; 8 and 16 MB
// measured within the same spread): a gateway's per-request garbage dies young whatever the space's size,
// so scavenges that come more often find as little alive.
export const TIER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/** The same flags as one NODE_OPTIONS value, for an environment that starts `node` itself (the image). */
export const TIER_NODE_OPTIONS = TIER_NODE_FLAGS.join(' ');
