// Reading and trimming the Cookie request header: hand-written because only
// one cookie is ever wanted per request and a full parser would allocate a
// map of all of them.
/** One cookie's value from a Cookie header: the first non-empty one; pairs without '=' are skipped. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || !header.includes(name)) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value !== '') return value;
  }
  return undefined;
}

/** The Cookie header minus the named cookies: a consumed session cookie goes no further, the rest do. */
export function withoutCookies(cookie: string | string[], names: readonly string[]): string {
  const text = Array.isArray(cookie) ? cookie.join('; ') : cookie;
  return text.split(';').map((c) => c.trim()).filter((c) => {
    const eq = c.indexOf('=');
    return c !== '' && !names.includes(eq === -1 ? c : c.slice(0, eq));
  }).join('; ');
}
