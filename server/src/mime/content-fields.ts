/**
 * The Content-* fields of one MIME header as an IMAP server reports them in
 * BODYSTRUCTURE: values kept byte for byte (case, encoded words, RFC 2231
 * segments), the first occurrence of each field winning. The rules follow
 * RFC 2045 §5.1 (Content-Type), RFC 2183 (Content-Disposition), RFC 2231
 * (parameter continuations) and RFC 3282 (Content-Language), read the way
 * Dovecot reads them, so that our BODYSTRUCTURE equals the reference server's.
 *
 * Strings here are byte strings: one char per byte (latin1).
 */

export interface Param {
  name: string;
  value: string;
}

export interface ContentFields {
  /** null when there is no Content-Type; '' parts when it is broken. */
  type: string | null;
  subtype: string | null;
  params: Param[];
  encoding: string | null;
  id: string | null;
  description: string | null;
  md5: string | null;
  disposition: string | null;
  dispositionParams: Param[];
  language: string[] | null;
  location: string | null;
}

/** Characters of an RFC 2045 token: atext without the tspecials "/", "=" and "?", plus "." and 8-bit bytes. */
const TOKEN = new Uint8Array(256);
const ATEXT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  const atext = c >= 128 || /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/.test(ch);
  ATEXT[c] = atext ? 1 : 0;
  TOKEN[c] = (atext && ch !== '/' && ch !== '=' && ch !== '?') || ch === '.' ? 1 : 0;
}

/** A cursor over a header value, with RFC 5322 comment and white space skipping. */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  /** Skips white space and (nested) comments; false at the end of the value or in an unclosed comment. */
  skipSpace(): boolean {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.pos += 1;
        continue;
      }
      if (c !== '(') break;
      if (!this.skipComment()) return false;
    }
    return this.pos < text.length;
  }

  private skipComment(): boolean {
    let depth = 0;
    for (; this.pos < this.text.length; this.pos++) {
      const c = this.text[this.pos];
      if (c === '(') depth += 1;
      else if (c === ')' && --depth === 0) {
        this.pos += 1;
        return true;
      } else if (c === '\\') this.pos += 1;
    }
    return false;
  }

  token(): string {
    const start = this.pos;
    // Text decoded from UTF-8 holds code points past 255; like 8-bit bytes they are token characters.
    for (let c = this.text.charCodeAt(this.pos); this.pos < this.text.length && (c > 255 || TOKEN[c]); ) {
      c = this.text.charCodeAt(++this.pos);
    }
    return this.text.slice(start, this.pos);
  }

  atom(): string {
    const start = this.pos;
    while (this.pos < this.text.length && ATEXT[this.text.charCodeAt(this.pos)]) this.pos += 1;
    return this.text.slice(start, this.pos);
  }

  /** A quoted string without its quotes and escapes, folding removed; null when unterminated. */
  quoted(): string | null {
    let out = '';
    for (this.pos += 1; this.pos < this.text.length; this.pos++) {
      const c = this.text[this.pos]!;
      if (c === '"') {
        this.pos += 1;
        return out;
      }
      if (c === '\\') {
        this.pos += 1;
        if (this.pos >= this.text.length) return null;
        out += this.text[this.pos];
      } else if (c !== '\r' && c !== '\n') {
        out += c;
      }
    }
    return null;
  }
}

/**
 * `; name=value` parameters, then RFC 2231 merging: `name*0`, `name*1*`…
 * segments join into one `name` (or `name*` when any segment is extended,
 * kept encoded), plain parameters first, merged ones after in name order.
 */
function parseParams(cursor: Cursor): Param[] {
  const plain: Param[] = [];
  const segments: { key: string; index: number; extended: boolean; value: string }[] = [];
  while (!cursor.done) {
    if (cursor.peek() !== ';') {
      // Broken input: skip a character and try to carry on, like lenient readers do.
      cursor.pos += 1;
      continue;
    }
    cursor.pos += 1;
    if (!cursor.skipSpace()) break;
    const name = cursor.token();
    cursor.skipSpace();
    if (name === '' || cursor.peek() !== '=') continue;
    cursor.pos += 1;
    let value = '';
    if (cursor.skipSpace()) {
      if (cursor.peek() === '"') {
        value = cursor.quoted() ?? '';
        cursor.skipSpace();
      } else if (cursor.peek() === '=') {
        // name==?utf-8?b?...?= from broken mailers: take everything to the next separator.
        const start = cursor.pos;
        while (!cursor.done && !/[;\s]/.test(cursor.peek())) cursor.pos += 1;
        value = cursor.text.slice(start, cursor.pos);
      } else {
        value = cursor.token();
        cursor.skipSpace();
      }
    }
    const star = /^([^*]*)\*(?:(\d+)(\*)?|)$/.exec(name);
    if (star) {
      const extended = star[2] === undefined || star[3] === '*';
      segments.push({ key: star[1]!, index: star[2] === undefined ? 0 : Number(star[2]), extended, value });
    } else {
      plain.push({ name, value });
    }
  }
  if (segments.length === 0) return plain;
  segments.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  for (let i = 0; i < segments.length; ) {
    let j = i;
    let contiguous = true;
    let extended = false;
    while (j < segments.length && segments[j]!.key.toLowerCase() === segments[i]!.key.toLowerCase()) {
      if (segments[j]!.index !== j - i) contiguous = false;
      if (segments[j]!.extended) extended = true;
      j += 1;
    }
    const group = segments.slice(i, j);
    if (!contiguous) {
      for (const s of group) plain.push({ name: `${s.key}*${s.index}${s.extended ? '*' : ''}`, value: s.value });
    } else {
      // Plain segments among extended ones are percent-escaped so the joined value decodes as one.
      let value = !group[0]!.extended && extended ? "''" : '';
      for (const s of group) value += !s.extended && extended ? s.value.replace(/%/g, '%25') : s.value;
      plain.push({ name: extended ? `${group[0]!.key}*` : group[0]!.key, value });
    }
    i = j;
  }
  return plain;
}

/**
 * type "/" subtype, then parameters. A value that is one bare token is kept as
 * the type with an empty subtype; anything else that does not read as a media
 * type becomes an empty type and subtype, with no parameters.
 */
function parseContentType(fields: ContentFields, value: string): void {
  const parsed = parseMediaType(value);
  fields.type = parsed.type;
  fields.subtype = parsed.subtype;
  fields.params = parsed.params;
}

/**
 * A Content-Type value: type "/" subtype, then parameters. A value that is
 * one bare token is kept as the type with an empty subtype; anything else
 * that does not read as a media type becomes an empty type and subtype, with
 * no parameters.
 */
export function parseMediaType(value: string): { type: string; subtype: string; params: Param[] } {
  const cursor = new Cursor(value);
  cursor.skipSpace();
  const type = cursor.token();
  cursor.skipSpace();
  const alone = type !== '' && cursor.done;
  if (type !== '' && cursor.peek() === '/') {
    cursor.pos += 1;
    cursor.skipSpace();
    const subtype = cursor.token();
    cursor.skipSpace();
    if (subtype !== '' && (cursor.done || cursor.peek() === ';')) return { type, subtype, params: parseParams(cursor) };
  }
  return { type: alone ? type : '', subtype: '', params: [] };
}

/** A Content-Disposition value: the disposition token, then parameters (RFC 2183). */
export function parseDispositionValue(value: string): { disposition: string; params: Param[] } {
  const cursor = new Cursor(value);
  cursor.skipSpace();
  const disposition = cursor.token();
  cursor.skipSpace();
  return { disposition, params: parseParams(cursor) };
}

function parseDisposition(fields: ContentFields, value: string): void {
  const parsed = parseDispositionValue(value);
  fields.disposition = parsed.disposition;
  fields.dispositionParams = parsed.params;
}

function parseLanguage(value: string): string[] | null {
  const cursor = new Cursor(value);
  const tags: string[] = [];
  cursor.skipSpace();
  for (;;) {
    const tag = cursor.atom();
    if (tag === '') break;
    tags.push(tag);
    cursor.skipSpace();
    if (cursor.peek() !== ',') break;
    cursor.pos += 1;
    cursor.skipSpace();
  }
  return tags.length > 0 ? tags : null;
}

/**
 * Header fields as name and value byte strings: the value starts after the
 * colon and its leading blanks, continuation lines are appended without
 * their line break (RFC 5322 §2.2.3 unfolding).
 */
export function rawHeaderFields(block: string): { name: string; value: string }[] {
  const fields: { name: string; value: string }[] = [];
  const lines = block.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') {
      if (i < lines.length - 1) break;
      continue;
    }
    const first = line[0];
    if ((first === ' ' || first === '\t') && fields.length > 0) {
      fields[fields.length - 1]!.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trimEnd(), value: line.slice(colon + 1).replace(/^[ \t]+/, '') });
  }
  return fields;
}

/** The fields of a part that has none: read as text/plain in us-ascii, 7bit (RFC 2045 §5.2). */
export function noContentFields(): ContentFields {
  return {
    type: null,
    subtype: null,
    params: [],
    encoding: null,
    id: null,
    description: null,
    md5: null,
    disposition: null,
    dispositionParams: [],
    language: null,
    location: null,
  };
}

/** The Content-* fields of a header block (a latin1 byte string). */
export function contentFields(block: string): ContentFields {
  const fields = noContentFields();
  for (const { name, value } of rawHeaderFields(block)) {
    if (name.length < 9 || name.slice(0, 8).toLowerCase() !== 'content-') continue;
    switch (name.slice(8).toLowerCase()) {
      case 'type':
        if (fields.type === null) parseContentType(fields, value);
        break;
      case 'transfer-encoding':
        if (fields.encoding === null) {
          const cursor = new Cursor(value);
          cursor.skipSpace();
          const encoding = cursor.token();
          if (encoding !== '' && !cursor.skipSpace()) fields.encoding = encoding;
        }
        break;
      case 'id':
        fields.id ??= value;
        break;
      case 'md5':
        fields.md5 ??= value;
        break;
      case 'description':
        fields.description ??= value;
        break;
      case 'location':
        fields.location ??= value;
        break;
      case 'language':
        if (fields.language === null) fields.language = parseLanguage(value);
        break;
      case 'disposition':
        if (fields.dispositionParams.length === 0) parseDisposition(fields, value);
        break;
    }
  }
  return fields;
}
