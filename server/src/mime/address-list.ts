/**
 * RFC 5322 address-list parsing (§3.4, plus the obsolete syntax of §4.4)
 * that reproduces what Dovecot 2.3 extracts for IMAP ENVELOPE: the same
 * recovery from broken input, the same placeholders, the same choice of
 * display name. Being lenient in exactly the same way is the point; being
 * "more correct" than Dovecot would make our ENVELOPE differ from it.
 *
 * Input and output strings are byte strings (one JS char per byte, latin1).
 *
 * Shape of the result, as RFC 3501 §7.4.2 wants it:
 * - a mailbox: name (display name, or the last comment of a bare addr-spec),
 *   route (obsolete `@relay,@relay2` source route), mailbox and domain;
 *   a missing or unparsable part becomes MISSING_MAILBOX / MISSING_DOMAIN, a
 *   broken `<...>` gets domain SYNTAX_ERROR and a broken route INVALID_ROUTE;
 * - a group: one entry with only `mailbox` set (the group's phrase), its
 *   members, then one entry with every field null.
 *
 * The parser never backtracks more than a fixed number of times per address
 * (group, then name-addr, then addr-spec) and every scan moves forward, so
 * its cost is linear in the input.
 */

export interface MailAddress {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
}

/** Scanner results, as in Dovecot's rfc822 parser: error, input exhausted, more input follows. */
const ERR = -1;
const END = 0;
const MORE = 1;
/** parse_addr_spec's marker for "no @domain was attempted". */
const NO_DOMAIN = -2;

const TAB = 9;
const LF = 10;
const CR = 13;
const SP = 32;
const DQUOTE = 34;
const LPAREN = 40;
const RPAREN = 41;
const COMMA = 44;
const DOT = 46;
const COLON = 58;
const SEMICOLON = 59;
const LT = 60;
const GT = 62;
const AT = 64;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;

/** A NUL inside a quoted string, comment or domain literal becomes U+FFFD (UTF-8 bytes). */
export const NUL_REPLACEMENT = '\u00ef\u00bf\u00bd';

/**
 * RFC 5322 §3.2.3 atext, plus every 8-bit byte (RFC 6532 lets UTF-8 through,
 * and Dovecot treats any high byte as atext whatever the charset).
 */
const ATEXT = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) ATEXT[c] = 1;
for (const c of '()<>[]:;@\\,."') ATEXT[c.charCodeAt(0)] = 0;
for (let c = 0x80; c < 0x100; c++) ATEXT[c] = 1;

function isAtext(c: number): boolean {
  return c >= 0 && ATEXT[c] === 1;
}

class AddressParser {
  private readonly s: string;
  private readonly end: number;
  private p = 0;
  /** Scratch buffer that the token scanners append to (Dovecot's ctx->str). */
  private buf = '';
  /** Text of the most recent comment (RFC 5322 §3.2.2), used as a display name by addr-spec. */
  private comment = '';

  private name: string | null = null;
  private route: string | null = null;
  private mailbox: string | null = null;
  private domain: string | null = null;
  private invalid = false;

  readonly out: MailAddress[] = [];

  constructor(s: string) {
    this.s = s;
    this.end = s.length;
  }

  /** Char code at p, or -1 past the end (so comparisons simply fail). */
  private at(): number {
    return this.p < this.end ? this.s.charCodeAt(this.p) : -1;
  }

  // ---- token level (RFC 5322 §3.2) ----

  /** CFWS: whitespace, line breaks and (nested) comments. */
  private skipLwsp(): number {
    const s = this.s;
    while (this.p < this.end) {
      const c = s.charCodeAt(this.p);
      if (c === SP || c === TAB || c === CR || c === LF) {
        this.p++;
        continue;
      }
      if (c !== LPAREN) break;
      if (this.skipComment() < 0) return ERR;
    }
    return this.p < this.end ? MORE : END;
  }

  /**
   * A comment, nesting included (RFC 5322 §3.2.2). Its text without the
   * outer parentheses, quoted-pairs resolved and line breaks removed, replaces
   * `comment`. An unterminated comment is an error, yet Dovecot keeps the
   * text it had gathered up to the last line break, escape or NUL in it, and
   * an addr-spec may still use that as its name.
   */
  private skipComment(): number {
    const s = this.s;
    let text = '';
    let level = 1;
    let start = ++this.p;
    for (; this.p < this.end; this.p++) {
      const c = s.charCodeAt(this.p);
      if (c === 0) {
        text += s.slice(start, this.p) + NUL_REPLACEMENT;
        start = this.p + 1;
      } else if (c === LPAREN) {
        level++;
      } else if (c === RPAREN) {
        if (--level === 0) {
          this.comment = text + s.slice(start, this.p);
          this.p++;
          return this.p < this.end ? MORE : END;
        }
      } else if (c === LF) {
        const cut = this.p > start && s.charCodeAt(this.p - 1) === CR ? this.p - 1 : this.p;
        text += s.slice(start, cut);
        start = this.p + 1;
      } else if (c === BACKSLASH) {
        this.p++;
        if (this.p >= this.end) {
          this.comment = text;
          return ERR;
        }
        const next = s.charCodeAt(this.p);
        if (next === CR || next === LF || next === 0) {
          // not a quoted-pair: keep the backslash, look at the next char normally
          this.p--;
        } else {
          text += s.slice(start, this.p - 1);
          start = this.p;
        }
      }
    }
    this.comment = text;
    return ERR;
  }

  /** atom, then CFWS. */
  private parseAtom(): number {
    const s = this.s;
    if (this.p >= this.end || !isAtext(s.charCodeAt(this.p))) return ERR;
    const start = this.p++;
    while (this.p < this.end && isAtext(s.charCodeAt(this.p))) this.p++;
    this.buf += s.slice(start, this.p);
    return this.p < this.end ? this.skipLwsp() : END;
  }

  /** Strict dot-atom (domains): no empty labels, CFWS allowed around the dots. */
  private parseDotAtom(): number {
    const s = this.s;
    if (this.p >= this.end || !isAtext(s.charCodeAt(this.p))) return ERR;
    let start = this.p++;
    while (this.p < this.end) {
      if (isAtext(s.charCodeAt(this.p))) {
        this.p++;
        continue;
      }
      if (start === this.p) return ERR;
      this.buf += s.slice(start, this.p);
      const ret = this.skipLwsp();
      if (ret <= 0) return ret;
      if (s.charCodeAt(this.p) !== DOT) return MORE;
      this.p++;
      this.buf += '.';
      if (this.skipLwsp() <= 0) return ERR;
      start = this.p;
    }
    this.buf += s.slice(start, this.p);
    return END;
  }

  /**
   * Local part as an obs-local-part that also tolerates leading, trailing and
   * repeated dots (`.a..b.`), which real mail contains and Dovecot accepts.
   */
  private parseLooseDotAtom(): number {
    const s = this.s;
    let ret = ERR;
    do {
      while (s.charCodeAt(this.p) === DOT) {
        this.buf += '.';
        this.p++;
        if (this.p === this.end) return END;
        ret = MORE;
      }
      if (s.charCodeAt(this.p) === AT) break;
      ret = this.parseAtom();
    } while (ret > 0 && s.charCodeAt(this.p) === DOT);
    return ret;
  }

  /** quoted-string (RFC 5322 §3.2.4): content without the quotes, quoted-pairs resolved, folding removed. */
  private parseQuoted(): number {
    const s = this.s;
    let start = ++this.p;
    for (; this.p < this.end; this.p++) {
      const c = s.charCodeAt(this.p);
      const resumed = this.keepSpecial(c, start);
      if (resumed >= 0) {
        start = resumed;
      } else if (c === DQUOTE) {
        this.buf += s.slice(start, this.p);
        this.p++;
        return this.skipLwsp();
      } else if (c === BACKSLASH) {
        this.p++;
        if (this.p >= this.end) return ERR;
        const next = s.charCodeAt(this.p);
        if (next === CR || next === LF || next === 0) {
          this.p--;
        } else {
          this.buf += s.slice(start, this.p - 1);
          start = this.p;
        }
      }
    }
    // unterminated: only what came before the last escape or line break was kept
    return ERR;
  }

  /**
   * Inside a quoted string or domain literal, a NUL is kept as U+FFFD and a
   * folding line break (with its CR) is dropped. Returns where the kept text
   * resumes after such a character, or -1 for any other.
   */
  private keepSpecial(c: number, start: number): number {
    const s = this.s;
    if (c === 0) {
      this.buf += s.slice(start, this.p) + NUL_REPLACEMENT;
      return this.p + 1;
    }
    if (c !== LF) return -1;
    const cut = this.p > start && s.charCodeAt(this.p - 1) === CR ? this.p - 1 : this.p;
    this.buf += s.slice(start, cut);
    return this.p + 1;
  }

  /** A run of atext and dots (obs-phrase, RFC 5322 §4.1), then CFWS. May be empty. */
  private parseAtomOrDot(): number {
    const s = this.s;
    const start = this.p;
    while (this.p < this.end) {
      const c = s.charCodeAt(this.p);
      if (!isAtext(c) && c !== DOT) break;
      this.p++;
    }
    this.buf += s.slice(start, this.p);
    return this.p < this.end ? this.skipLwsp() : END;
  }

  /** phrase (display name or group name): words joined by one space. */
  private parsePhrase(): number {
    if (this.p >= this.end) return END;
    if (this.s.charCodeAt(this.p) === DOT) return ERR;
    for (;;) {
      const ret = this.s.charCodeAt(this.p) === DQUOTE ? this.parseQuoted() : this.parseAtomOrDot();
      if (ret <= 0) return ret;
      const c = this.s.charCodeAt(this.p);
      if (!isAtext(c) && c !== DQUOTE && c !== DOT) break;
      this.buf += ' ';
    }
    return this.skipLwsp();
  }

  /** domain-literal `[...]`, kept with its brackets and backslashes. */
  private parseDomainLiteral(): number {
    const s = this.s;
    let start = this.p++;
    for (; this.p < this.end; this.p++) {
      const c = s.charCodeAt(this.p);
      const resumed = this.keepSpecial(c, start);
      if (resumed >= 0) {
        start = resumed;
      } else if (c === LBRACKET) {
        return ERR;
      } else if (c === RBRACKET) {
        this.buf += s.slice(start, this.p + 1);
        this.p++;
        return this.skipLwsp();
      } else if (c === BACKSLASH) {
        this.p++;
        if (this.p >= this.end) return ERR;
        const next = s.charCodeAt(this.p);
        if (next === CR || next === LF || next === 0) this.p--;
      }
    }
    return ERR;
  }

  /** `@` domain, appended to buf. */
  private parseDomainToken(): number {
    this.p++;
    if (this.skipLwsp() <= 0) return ERR;
    return this.s.charCodeAt(this.p) === LBRACKET ? this.parseDomainLiteral() : this.parseDotAtom();
  }

  // ---- address level (RFC 5322 §3.4, §4.4) ----

  private pushAddress(): void {
    this.out.push({ name: this.name, route: this.route, mailbox: this.mailbox, domain: this.domain });
    this.name = this.route = this.mailbox = this.domain = null;
    this.invalid = false;
  }

  /** Placeholders for what could not be parsed, so a client always gets mailbox and domain strings. */
  private pushFixedAddress(): void {
    if (this.mailbox === null) this.mailbox = 'MISSING_MAILBOX';
    if (this.domain === null || this.domain === '') this.domain = 'MISSING_DOMAIN';
    this.pushAddress();
  }

  private parseLocalPart(): number {
    this.buf = '';
    const ret = this.s.charCodeAt(this.p) === DQUOTE ? this.parseQuoted() : this.parseLooseDotAtom();
    if (ret < 0) return ERR;
    this.mailbox = this.buf;
    return ret;
  }

  private parseDomain(): number {
    this.buf = '';
    const ret = this.parseDomainToken();
    if (ret < 0) return ERR;
    this.domain = this.buf;
    return ret;
  }

  /** obs-domain-list (RFC 5322 §4.4): `@a,@b` before the `:` of an obsolete route. */
  private parseDomainList(): number {
    this.buf = '';
    for (;;) {
      if (this.p >= this.end) return END;
      if (this.s.charCodeAt(this.p) !== AT) break;
      if (this.buf.length > 0) this.buf += ',';
      this.buf += '@';
      const ret = this.parseDomainToken();
      if (ret <= 0) return ret;
      while (this.skipLwsp() > 0 && this.s.charCodeAt(this.p) === COMMA) this.p++;
    }
    this.route = this.buf;
    return MORE;
  }

  /** angle-addr, with obs-route; `<>` is tolerated (both parts then go missing). */
  private parseAngleAddr(): number {
    this.p++;
    if (this.skipLwsp() <= 0) return ERR;
    if (this.at() === AT) {
      if (this.parseDomainList() > 0 && this.at() === COLON) {
        this.p++;
      } else {
        this.route = 'INVALID_ROUTE';
        if (this.p >= this.end) return ERR;
      }
      if (this.skipLwsp() <= 0) return ERR;
    }
    if (this.at() !== GT) {
      if (this.parseLocalPart() <= 0) return ERR;
      if (this.at() === AT && this.parseDomain() <= 0) return ERR;
    }
    if (this.at() !== GT) return ERR;
    this.p++;
    return this.skipLwsp();
  }

  /**
   * name-addr. Fails (ERR, nothing consumed that matters) unless a phrase is
   * followed by `<`; once it has seen `<` it always produces an address,
   * marking a broken one with domain SYNTAX_ERROR. A comment after `>` is
   * not used as a name here, unlike for a bare addr-spec.
   */
  private parseNameAddr(): number {
    this.buf = '';
    if (this.parsePhrase() <= 0 || this.at() !== LT) return ERR;
    this.name = this.buf === '' ? null : this.buf;
    if (this.parseAngleAddr() < 0) {
      this.domain = 'SYNTAX_ERROR';
      this.invalid = true;
    }
    return this.p < this.end ? MORE : END;
  }

  /**
   * addr-spec. The last comment inside or after it becomes the display name
   * (`user@host (Real Name)`, the RFC 822 habit). A word with no `@` after it
   * is a mailbox with a missing domain, unless more words follow: then the
   * words are a display name with no address at all.
   */
  private parseAddrSpec(): number {
    let domainRet = NO_DOMAIN;
    this.comment = '';
    const quoted = this.s.charCodeAt(this.p) === DQUOTE;
    let ret = this.parseLocalPart();
    if (ret <= 0) this.invalid = true;
    if (ret !== END && this.at() === AT) {
      domainRet = this.parseDomain();
      if (domainRet <= 0) ret = domainRet;
    }
    if (this.comment.length > 0) {
      this.name = this.comment;
    } else if (domainRet === NO_DOMAIN) {
      this.buf += ' ';
      const before = this.buf.length;
      this.parsePhrase();
      if (this.buf.length !== before) {
        this.mailbox = null;
        this.name = this.buf;
      } else if (!quoted) {
        this.domain = '';
      }
      this.invalid = true;
      ret = ERR;
    }
    return ret;
  }

  /** mailbox = name-addr / addr-spec; always adds exactly one address. */
  private parseMailbox(): number {
    const start = this.p;
    let ret = this.parseNameAddr();
    if (ret < 0) {
      this.p = start;
      ret = this.parseAddrSpec();
      // a lone quoted word reads better as a name than as a mailbox
      if (this.invalid && this.name === null && this.mailbox !== null && this.domain === null) {
        this.name = this.mailbox;
        this.mailbox = null;
      }
    }
    this.pushFixedAddress();
    return ret;
  }

  /**
   * group (RFC 5322 §3.4): ERR if this is not a group at all; once the `:`
   * is seen, the start and end markers are always added, whatever follows.
   */
  private parseGroup(): number {
    this.buf = '';
    if (this.parsePhrase() <= 0 || this.at() !== COLON) return ERR;
    this.p++;
    let ret = this.skipLwsp();
    this.mailbox = this.buf;
    this.pushAddress();
    if (ret > 0 && this.at() !== SEMICOLON) {
      for (;;) {
        this.parseMailbox();
        if (this.at() !== COMMA) break;
        this.p++;
        if (this.skipLwsp() <= 0) {
          ret = ERR;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (this.at() !== SEMICOLON) {
        ret = ERR;
      } else {
        this.p++;
        ret = this.skipLwsp();
      }
    }
    this.pushAddress();
    return ret === END ? END : MORE;
  }

  private parseAddress(): number {
    const start = this.p;
    const ret = this.parseGroup();
    if (ret >= 0) return ret;
    this.p = start;
    return this.parseMailbox();
  }

  /** address-list; stops quietly at the first element not followed by a comma. */
  parseList(): void {
    if (this.skipLwsp() <= 0) return;
    for (;;) {
      if (this.parseAddress() === END) return;
      if (this.at() !== COMMA) return;
      this.p++;
      const ret = this.skipLwsp();
      if (ret <= 0) {
        // a trailing comma is fine, trailing garbage (an open comment) is one more broken address
        if (ret < 0) this.pushFixedAddress();
        return;
      }
    }
  }
}

/**
 * Parses an address-list header value (a byte string, line breaks of folded
 * lines still in it) the way Dovecot does for ENVELOPE: empty list when the
 * value holds no address at all.
 */
export function parseAddressList(value: string): MailAddress[] {
  const parser = new AddressParser(value);
  parser.parseList();
  return parser.out;
}
