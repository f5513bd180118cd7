// What both tiers do when a reload swaps a generation: wait a moment for a new service's first instances,
// and close what the old generation alone held only after requests that started on it had time to finish.
/** How long a swap waits for newly named services' first discovery answer before serving them anyway. */
export const RESOLVE_WAIT_MS = 2_000;

// Longer than any request may run by default (timeouts.requestMs is 60 s): a request started on the old
// generation may still be using its clients.
const RETIRE_AFTER_MS = 90_000;

export function retire(close: () => void): void {
  setTimeout(close, RETIRE_AFTER_MS).unref();
}
