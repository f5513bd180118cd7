// A strict parser for the structured fields the gateway sends backends (RFC 9651 section 4.2): Lists and
// Items whose members are Strings or Display Strings, no parameters. Written from the RFC's parsing
// algorithms, not from our serializer, so that tests read headers the way a backend's library would.

/** What a member was sent as, and the string it stands for. */
export interface SfString { readonly type: 'string' | 'displaystring'; readonly value: string }

export function parseSfList(field: string): SfString[] {
  const p = new Cursor(field);
  const members: SfString[] = [];
  while (!p.eof()) {
    members.push(p.bareItem());
    p.skipOws();
    if (p.eof()) break;
    p.expect(',');
    p.skipOws();
    if (p.eof()) p.fail('a trailing comma');
  }
  p.end();
  return members;
}

export function parseSfItem(field: string): SfString {
  const p = new Cursor(field);
  const item = p.bareItem();
  p.end();
  return item;
}

class Cursor {
  private pos = 0;
  private readonly input: string;

  constructor(field: string) {
    this.input = field.replace(/^ +/, ''); // leading SP is discarded (4.2 step 2); trailing SP in end()
  }

  eof(): boolean { return this.pos >= this.input.length; }
  fail(what: string): never { throw new SyntaxError(`${what} at ${this.pos} in ${JSON.stringify(this.input)}`); }
  skipOws(): void { while (this.input[this.pos] === ' ' || this.input[this.pos] === '\t') this.pos++; }

  expect(char: string): void {
    if (this.input[this.pos] !== char) this.fail(`expected ${char}`);
    this.pos++;
  }

  end(): void {
    while (this.input[this.pos] === ' ') this.pos++;
    if (!this.eof()) this.fail('trailing characters');
  }

  bareItem(): SfString {
    const c = this.input[this.pos];
    if (c === '"') return { type: 'string', value: this.string() };
    if (c === '%') return { type: 'displaystring', value: this.displayString() };
    return this.fail('expected a String or a Display String');
  }

  /** RFC 9651 4.2.5. */
  private string(): string {
    this.expect('"');
    let out = '';
    while (!this.eof()) {
      const c = this.input[this.pos++]!;
      if (c === '\\') {
        const next = this.input[this.pos++];
        if (next !== '"' && next !== '\\') this.fail('a backslash before neither " nor \\');
        out += next;
      } else if (c === '"') {
        return out;
      } else if (c < ' ' || c > '~') {
        this.fail('a character outside printable ASCII');
      } else {
        out += c;
      }
    }
    return this.fail('an unterminated String');
  }

  /** RFC 9651 4.2.10. */
  private displayString(): string {
    this.expect('%');
    this.expect('"');
    const bytes: number[] = [];
    while (!this.eof()) {
      const c = this.input[this.pos++]!;
      if (c < ' ' || c > '~') this.fail('a character outside printable ASCII');
      if (c === '%') {
        const hex = this.input.slice(this.pos, this.pos + 2);
        if (!/^[0-9a-f]{2}$/.test(hex)) this.fail('a %xx escape that is not two lower-case hex digits');
        bytes.push(parseInt(hex, 16));
        this.pos += 2;
      } else if (c === '"') {
        return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
      } else {
        bytes.push(c.charCodeAt(0));
      }
    }
    return this.fail('an unterminated Display String');
  }
}
