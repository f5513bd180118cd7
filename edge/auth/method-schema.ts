// What an authentication method's schema file declares: its name (as the route's `methods` and the logs
// say it), the key of its section under auth:, its schema and its cross-check, which sees the shared
// sections of the file and which other methods are configured. Schema only.
import { policy } from '../../shared/config/policy-schema.js';
import type { SharedFileConfig } from '../../shared/config/schema.js';
import type { EdgeAuthMethodName } from '../../shared/auth-methods-schema.js';

export interface AuthCheckContext {
  readonly file: SharedFileConfig;
  /** Where another method's section lives (auth.<key>) and whether the file has it. */
  readonly sectionOf: (method: EdgeAuthMethodName) => { readonly key: string; readonly configured: boolean };
}

export const authMethod = policy<AuthCheckContext>();
