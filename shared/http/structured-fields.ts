// Structured Field Values for HTTP (RFC 9651, which obsoletes RFC 8941), the serializing half only: the
// gateway writes fields, it never parses them. Every value comes out in exactly one form that a strict
// parser reads back as the same string; nothing is ever passed through unencoded.

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const QUOTED_SPECIALS = /[\\"]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A string as a bare item: an sf-string ("...", with \ and " escaped) when it is printable ASCII, which
 * RFC 8941 parsers read too; otherwise a Display String (%"...", RFC 9651 section 3.3.8), the one
 * standard form that carries any Unicode text: its UTF-8 bytes, with %, " and every byte outside
 * printable ASCII written as %xx in lower case. An sf-string cannot hold a control character or
 * non-ASCII at all, and sf-binary would hide readable text in base64.
 */
export function serializeString(value: string): string {
  if (PRINTABLE_ASCII.test(value)) return `"${value.replace(QUOTED_SPECIALS, '\\$&')}"`;
  return serializeDisplayString(value);
}

/** RFC 9651 section 4.1.11. Fails, as the RFC says to, on a string that is not Unicode text (a lone surrogate). */
export function serializeDisplayString(value: string): string {
  // TextEncoder would quietly turn a lone surrogate into U+FFFD: two different strings, one field value.
  if (!isUnicodeText(value)) throw new TypeError('a Display String must be Unicode text; this one has a lone surrogate');
  let out = '%"';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte === 0x25 || byte === 0x22 || byte < 0x20 || byte > 0x7e ? `%${byte < 0x10 ? '0' : ''}${byte.toString(16)}` : String.fromCharCode(byte);
  }
  return `${out}"`;
}

/** False for a string with a lone surrogate (JSON's "\\ud800" makes one), which no header encoding can carry as itself. */
export function isUnicodeText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/**
 * A list of strings as an sf-list, members separated by ", ". undefined for an empty list: RFC 9651
 * section 4.1 says an empty List is not serialized at all, so the field is left out.
 */
export function serializeStringList(values: readonly string[]): string | undefined {
  return values.length === 0 ? undefined : values.map(serializeString).join(', ');
}
