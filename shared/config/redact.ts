// A config as it may be shown (the admin API): every secret-bearing value replaced. Driven by field names,
// so a policy adding a `secret`, `password` or `token` field (or one ending so: clientSecret) is covered
// without registering anything; never returns a secret it was given.
const SECRET_FIELD = /(?:^|[a-z])(?:secret|Secret|password|Password|token|Token)$/;
/** Credentials inside a URL (redis://user:pw@host). */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i;

export const REDACTED = '[redacted]';

/** Whether a field of this name holds a secret (secret, password, token, clientSecret...). */
export const isSecretField = (field: string): boolean => SECRET_FIELD.test(field);

/** A deep copy of value with secret fields and URL credentials replaced; names of variables and files stay. */
export function redactSecrets(value: unknown, field = ''): unknown {
  if (typeof value === 'string') {
    if (isSecretField(field)) return REDACTED;
    return value.replace(URL_USERINFO, `$1${REDACTED}@`);
  }
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, field));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  }
  return isSecretField(field) && value !== undefined ? REDACTED : value;
}
