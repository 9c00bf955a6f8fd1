import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFetch, renderFetch, type FetchRequest, type SectionItem } from '../../server/src/imap/fetch/index.js';
import { wireSlice } from '../../server/src/imap/fetch/wire-form.js';
import type { ImapMessage } from '../../server/src/imap/message.js';
import type { ImapAtom, ImapValue } from '../../server/src/imap/wire/types.js';
import { digestMessage } from '../../server/src/mime/digest.js';
import type { MimePart } from '../../server/src/mime/part-index.js';

const atom = (value: string, section?: ImapValue[], partial?: { start: number; length: number }): ImapAtom => ({
  type: 'atom',
  value,
  ...(section ? { section } : {}),
  ...(partial ? { partial } : {}),
});
const str = (text: string): ImapValue => ({ type: 'string', value: Buffer.from(text, 'latin1'), literal: false });
const list = (...items: ImapValue[]): ImapValue => ({ type: 'list', items });
const body = (section: ImapValue[], partial?: { start: number; length: number }): ImapAtom => atom('BODY.PEEK', section, partial);

function parsed(args: ImapValue[]): FetchRequest {
  const result = parseFetch(args);
  if ('error' in result) throw new Error(result.error);
  return result;
}

const kinds = (request: FetchRequest): string[] => request.items.map((item) => (item.kind === 'BODY[]' ? item.label : item.kind));

function message(text: string, overrides: Partial<ImapMessage> = {}): ImapMessage {
  const raw = Buffer.from(text, 'latin1');
  return { uid: 7, raw, internalDate: Date.UTC(2024, 0, 2, 3, 4, 5), flags: new Set(), digest: digestMessage(raw), ...overrides };
}

const NO_EXTRA = { uid: false, flags: false, recent: false };

function render(msg: ImapMessage, args: ImapValue[], extra = NO_EXTRA, seq = 3): string {
  return renderFetch(msg, seq, parsed(args), extra).toString('latin1');
}

describe('parseFetch', () => {
  it('expands the macros, alone and in any case (RFC 3501 §6.4.5)', () => {
    expect(kinds(parsed([atom('ALL')]))).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']);
    expect(kinds(parsed([atom('fast')]))).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']);
    expect(kinds(parsed([atom('Full')]))).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
  });

  it('takes one item as an atom or a list of them', () => {
    expect(kinds(parsed([atom('uid')]))).toEqual(['UID']);
    expect(kinds(parsed([body([], { start: 0, length: 4 })]))).toEqual(['BODY[]<0>']);
    expect(kinds(parsed([list(atom('RFC822.SIZE'), atom('BODYSTRUCTURE'))]))).toEqual(['RFC822.SIZE', 'BODYSTRUCTURE']);
  });

  it('puts the short items first, keeps the order asked within each group, and drops repeats but not of sections', () => {
    const request = parsed([
      list(atom('ENVELOPE'), atom('UID'), body([atom('1')]), atom('FLAGS'), atom('BODY'), body([atom('1')]), atom('uid'), atom('RFC822.HEADER'), atom('INTERNALDATE'), atom('ENVELOPE')),
    ]);
    expect(kinds(request)).toEqual(['UID', 'FLAGS', 'INTERNALDATE', 'ENVELOPE', 'BODY[1]', 'BODY', 'BODY[1]', 'RFC822.HEADER']);
  });

  it('knows which items set \\Seen', () => {
    const seen = (...items: ImapValue[]): boolean => parsed([list(...items)]).setsSeen;
    expect(seen(body([]), atom('RFC822.HEADER'), atom('RFC822.SIZE'), atom('BODY'), atom('BODYSTRUCTURE'))).toBe(false);
    expect(seen(atom('BODY', [atom('1')]))).toBe(true);
    expect(seen(atom('RFC822'))).toBe(true);
    expect(seen(atom('RFC822.TEXT'))).toBe(true);
  });

  it('names sections as Dovecot does: upper-cased, BODY never BODY.PEEK, partial by its start only', () => {
    const labels = (item: ImapAtom): string => (parsed([item]).items[0] as SectionItem).label;
    expect(labels(atom('body.peek', [atom('1.mime')]))).toBe('BODY[1.MIME]');
    expect(labels(atom('Body', [atom('header')], { start: 17, length: 3 }))).toBe('BODY[HEADER]<17>');
    expect(labels(body([atom('header.fields'), list(atom('subject'), str('x-Y'), atom('Nil'))]))).toBe('BODY[HEADER.FIELDS (SUBJECT "X-Y" "NIL")]');
    // Quoted back with " and \ escaped; CR, LF and 8-bit bytes dropped, as Dovecot's imap_append_quoted() does.
    expect(labels(body([atom('2.HEADER.FIELDS.NOT'), list(str('a"b\\c'), str('d\r\ne\xe9f'))]))).toBe('BODY[2.HEADER.FIELDS.NOT ("A\\"B\\\\C" "DEF")]');
  });

  it('reads part numbers as Dovecot does: leading zeros, 0, and wrapping at 2^32', () => {
    const part = (text: string): readonly number[] => (parsed([body([atom(text)])]).items[0] as SectionItem).part;
    expect(part('1.2.3')).toEqual([1, 2, 3]);
    expect(part('01')).toEqual([1]);
    expect(part('0.MIME')).toEqual([0]);
    expect(part('4294967297')).toEqual([1]);
    expect(part('TEXT')).toEqual([]);
  });

  it.each<[string, ImapValue[], string]>([
    ['nothing', [], 'Invalid arguments'],
    ['two arguments', [atom('ALL'), atom('FAST')], 'Invalid arguments'],
    ['a string', [str('UID')], 'Invalid arguments'],
    ['an empty list', [list()], 'FETCH list is empty'],
    ['a string in the list', [list(atom('UID'), str('FLAGS'))], 'FETCH list contains non-atoms'],
    ['a list in the list', [list(atom('UID'), list(atom('FLAGS')))], 'FETCH list contains non-atoms'],
    ['a macro in a list', [list(atom('ALL'))], 'Unknown parameter: ALL'],
    ['an unknown item', [atom('FOO')], 'Unknown parameter: FOO'],
    ['BINARY (RFC 3516, not offered)', [list(atom('BINARY.PEEK', [atom('1')]))], 'Unknown parameter: BINARY.PEEK[...]'],
    ['BODY.PEEK without a section', [atom('BODY.PEEK')], 'Unknown parameter: BODY.PEEK'],
    ['a partial on a non-body item', [atom('RFC822.SIZE', undefined, { start: 0, length: 1 })], 'Unknown parameter: RFC822.SIZE'],
    ['a section on a non-body item', [atom('UID', [])], 'Unknown parameter: UID[...]'],
    ['MIME without a part number', [body([atom('MIME')])], 'Invalid BODY[..] section'],
    ['a trailing dot', [body([atom('1.')])], 'Invalid BODY[..] section'],
    ['a leading dot', [body([atom('.1')])], 'Invalid BODY[..] section'],
    ['two dots', [body([atom('1..2')])], 'Invalid BODY[..] section'],
    ['no dot before the text', [body([atom('1HEADER')])], 'Invalid BODY[..] section'],
    ['an unknown text', [body([atom('TEXT.FOO')])], 'Invalid BODY[..] section'],
    ['a string as the section', [body([str('TEXT')])], 'Invalid BODY[..] section'],
    ['HEADER.FIELDS without a list', [body([atom('HEADER.FIELDS')])], 'Invalid BODY[..] section'],
    ['HEADER.FIELDS with an empty list', [body([atom('HEADER.FIELDS'), list()])], 'Invalid BODY[..] section'],
    ['a list after HEADER', [body([atom('HEADER'), list(atom('Subject'))])], 'Invalid BODY[..] section'],
    ['a list in the header list', [body([atom('HEADER.FIELDS'), list(list(atom('Subject')))])], 'Invalid BODY[..] parameter: Header list contains non-strings'],
    ['a section in the header list', [body([atom('HEADER.FIELDS'), list(atom('BODY', []))])], 'Invalid BODY[..] parameter: Header list contains non-strings'],
    ['something after the header list', [body([atom('HEADER.FIELDS'), list(atom('A')), atom('x')])], "Invalid BODY[..] parameter: Missing ']'"],
    ['an atom where the header list goes', [body([atom('HEADER.FIELDS'), atom('A')])], "Invalid BODY[..] parameter: Missing ']'"],
    ['a negative partial', [body([], { start: -1, length: 2 })], 'Invalid BODY[..] parameter: Too big partial start'],
    ['a fractional partial', [body([], { start: 0, length: 0.5 })], 'Invalid BODY[..] parameter: Too big partial end'],
    ['a partial past 2^53', [body([], { start: 2 ** 60, length: 1 })], 'Invalid BODY[..] parameter: Too big partial start'],
  ])('refuses %s', (_what, args, error) => {
    expect(parseFetch(args)).toEqual({ error });
  });
});

describe('renderFetch', () => {
  it('writes the short items as Dovecot does', () => {
    const msg = message('Subject: x\n\nhi\n', {
      uid: 42,
      internalDate: Date.UTC(2009, 1, 3, 4, 5, 6, 999),
      flags: new Set(['$Work', '\\Seen', 'later', '\\Answered', '\\Draft', '\\Deleted', '\\Flagged', '\\Bogus']),
    });
    expect(render(msg, [list(atom('UID'), atom('FLAGS'), atom('INTERNALDATE'), atom('RFC822.SIZE'))], { uid: false, flags: false, recent: true })).toBe(
      '* 3 FETCH (UID 42 FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\Recent $Work later) INTERNALDATE "03-Feb-2009 04:05:06 +0000" RFC822.SIZE 18)\r\n',
    );
    expect(render(message('\r\n', { flags: new Set() }), [atom('FLAGS')])).toBe('* 3 FETCH (FLAGS ())\r\n');
    expect(render(message('\r\n', { internalDate: Date.UTC(1999, 11, 31, 23, 59, 59) }), [atom('INTERNALDATE')])).toBe(
      '* 3 FETCH (INTERNALDATE "31-Dec-1999 23:59:59 +0000")\r\n',
    );
  });

  it('adds UID first for UID FETCH, once', () => {
    const msg = message('A: b\r\n\r\nc');
    expect(render(msg, [list(atom('FLAGS'), atom('UID'))], { uid: true, flags: false, recent: false })).toBe('* 3 FETCH (UID 7 FLAGS ())\r\n');
    expect(render(msg, [body([atom('TEXT')])], { uid: true, flags: false, recent: false })).toBe('* 3 FETCH (UID 7 BODY[TEXT] {1}\r\nc)\r\n');
  });

  it('adds FLAGS after the short items when \\Seen was just set, unless it was asked for', () => {
    const msg = message('A: b\r\n\r\nc', { flags: new Set(['\\Seen']) });
    const extra = { uid: false, flags: true, recent: false };
    expect(render(msg, [list(atom('BODY', [atom('TEXT')]), atom('UID'), atom('ENVELOPE'))], extra)).toBe(
      '* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[TEXT] {1}\r\nc ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n',
    );
    expect(render(msg, [atom('UID')], extra)).toBe('* 3 FETCH (UID 7 FLAGS (\\Seen))\r\n');
    expect(render(msg, [list(atom('RFC822.TEXT'), atom('FLAGS'))], extra)).toBe('* 3 FETCH (FLAGS (\\Seen) RFC822.TEXT {1}\r\nc)\r\n');
  });

  it('serves bare LF as CRLF, in sizes and partials too, and NUL as 0x80', () => {
    const msg = message('From: x\n\nbare\nlf\0\n');
    expect(render(msg, [list(atom('RFC822.SIZE'), body([]))])).toBe('* 3 FETCH (RFC822.SIZE 22 BODY[] {22}\r\nFrom: x\r\n\r\nbare\r\nlf\x80\r\n)\r\n');
    // octets 7 and 9 are the CRs added before the first two LFs, octets 8 and 10 those LFs
    expect(render(msg, [list(body([], { start: 8, length: 2 }), body([], { start: 10, length: 2 }), body([], { start: 7, length: 2 }))])).toBe(
      '* 3 FETCH (BODY[]<8> {2}\r\n\n\r BODY[]<10> {2}\r\n\nb BODY[]<7> {2}\r\n\r\n)\r\n',
    );
    expect(render(msg, [list(body([], { start: 22, length: 5 }), body([], { start: 0, length: 0 }))])).toBe('* 3 FETCH (BODY[]<22> {0}\r\n BODY[]<0> {0}\r\n)\r\n');
  });

  it('sends an empty literal for a section the message does not have', () => {
    const msg = message('Subject: x\r\n\r\nbody\r\n');
    expect(render(msg, [list(body([atom('2')]), body([atom('1.HEADER')]), body([atom('1.1.1')]), body([atom('1')]))])).toBe(
      '* 3 FETCH (BODY[2] {0}\r\n BODY[1.HEADER] {0}\r\n BODY[1.1.1] {0}\r\n BODY[1] {6}\r\nbody\r\n)\r\n',
    );
  });

  it('sends HEADER.FIELDS and HEADER.FIELDS.NOT as Dovecot does', () => {
    const msg = message('From: x\nSubject : spaced\nNoColonLine\nX-A:\n\tcont\nx-a: two\n\nbody\n');
    const fields = (text: string, ...names: string[]): ImapAtom => body([atom(text), list(...names.map((name) => atom(name)))]);
    expect(render(msg, [fields('HEADER.FIELDS', 'x-a', 'SUBJECT', 'NoColonLine')])).toBe(
      '* 3 FETCH (BODY[HEADER.FIELDS (X-A SUBJECT NOCOLONLINE)] {43}\r\nSubject : spaced\r\nX-A:\r\n\tcont\r\nx-a: two\r\n\r\n)\r\n',
    );
    expect(render(msg, [fields('HEADER.FIELDS.NOT', 'X-A', 'NOCOLONLINE')])).toBe(
      '* 3 FETCH (BODY[HEADER.FIELDS.NOT (X-A NOCOLONLINE)] {42}\r\nFrom: x\r\nSubject : spaced\r\nNoColonLine\r\n\r\n)\r\n',
    );
    // No empty line and no final line break: HEADER.FIELDS adds both, HEADER.FIELDS.NOT neither.
    const bare = message('From: x\r\nSubject: no final newline');
    expect(render(bare, [list(fields('HEADER.FIELDS', 'SUBJECT'), fields('HEADER.FIELDS.NOT', 'FROM'))])).toBe(
      '* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {29}\r\nSubject: no final newline\r\n\r\n BODY[HEADER.FIELDS.NOT (FROM)] {25}\r\nSubject: no final newline)\r\n',
    );
  });

  it('keeps the line break after a close delimiter that the enclosing delimiter follows at once, as Dovecot does', () => {
    const msg = message(
      [
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: message/rfc822',
        '',
        'Subject: inner',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary=c',
        '',
        '--c',
        '',
        'c1',
        '--c--',
        '--b--',
        '',
      ].join('\r\n'),
    );
    // Dovecot 2.3.19 sends BODY[1] {104} and BODY[1.TEXT] {18}, both ending "--c--\r\n".
    const text = render(msg, [list(body([atom('1')]), body([atom('1.TEXT')]))]);
    expect(text).toContain(' {104}\r\n');
    expect(text).toContain('BODY[1.TEXT] {18}\r\n--c\r\n\r\nc1\r\n--c--\r\n)');
  });

  it('gives folder copies, which share a digest, the same structure', () => {
    const original = message('Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n');
    const copy: ImapMessage = { ...original, uid: 99, flags: new Set(['\\Seen']) };
    const args = [list(atom('ENVELOPE'), atom('BODYSTRUCTURE'), atom('BODY'))];
    const first = render(original, args);
    expect(render(copy, args)).toBe(first);
    expect(first).toBe(
      '* 3 FETCH (ENVELOPE (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE ("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) BODY ("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 10 1))\r\n',
    );
  });
});

describe('wireSlice', () => {
  /** The wire form the slow way: every LF without a CR before it (within the range) becomes CRLF, NUL becomes 0x80. */
  function naive(raw: Buffer, start: number, end: number): string {
    const text = raw.toString('latin1', start, end);
    let out = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === '\n' && (i === 0 || text[i - 1] !== '\r')) out += '\r\n';
      else out += c === '\0' ? '\x80' : c;
    }
    return out;
  }

  it('equals the CRLF form cut to the window, for any bytes and any window', () => {
    const bytes = fc.array(fc.constantFrom(0x61, 0x0d, 0x0a, 0x00, 0x2d), { maxLength: 60 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(bytes, fc.nat(70), fc.nat(70), fc.nat(140), fc.nat(140), (raw, a, b, from, length) => {
        const start = Math.min(a, b, raw.length);
        const end = Math.min(Math.max(a, b), raw.length);
        const copy = Buffer.from(raw);
        expect(wireSlice(raw, start, end).toString('latin1')).toBe(naive(raw, start, end));
        expect(wireSlice(raw, start, end, from, length).toString('latin1')).toBe(naive(raw, start, end).slice(from, from + length));
        expect(raw).toEqual(copy);
      }),
      { numRuns: 2000 },
    );
  });

  it('hands back the stored bytes themselves when nothing needs changing', () => {
    const raw = Buffer.from('a: b\r\n\r\nbody\r\n');
    const slice = wireSlice(raw, 8, raw.length);
    expect(slice.buffer).toBe(raw.buffer);
    expect(slice.byteOffset).toBe(raw.byteOffset + 8);
  });
});

describe('random FETCH arguments', () => {
  const samples = [
    'Subject: hi\r\nFrom: a@b\r\nX-Folded: one\r\n two\r\n\r\nbody\r\n',
    'From: x\nSubject : s\nNoColon\n\nbare\nlf\0\n',
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n',
    'Subject: only a header',
    '',
  ].map((text, i) => message(text, { uid: i + 1, flags: new Set(i % 2 ? ['\\Seen', 'kw'] : []) }));

  const words = fc.constantFrom(
    'UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT',
    'ALL', 'FAST', 'FULL', 'BODY.PEEK', 'body.peek', 'BINARY', 'NIL', 'HEADER', 'HEADER.FIELDS', 'header.fields.not', 'TEXT', 'MIME',
    '', '0', '1', '2', '1.1', '1.MIME', '2.1.TEXT', '1.HEADER.FIELDS', '3.HEADER', '01', '4294967297', '1.', '.1', 'Subject', 'x-a',
  );
  const value: fc.Arbitrary<ImapValue> = fc.letrec<{ value: ImapValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.record({
        type: fc.constant('atom' as const),
        value: fc.oneof(words, fc.string()),
        section: fc.option(fc.array(tie('value'), { maxLength: 3 }), { nil: undefined }),
        partial: fc.option(fc.record({ start: fc.oneof(fc.nat(40), fc.integer(), fc.double()), length: fc.oneof(fc.nat(40), fc.integer()) }), { nil: undefined }),
      }),
      fc.record({ type: fc.constant('string' as const), value: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)), literal: fc.boolean() }),
      fc.record({ type: fc.constant('list' as const), items: fc.array(tie('value'), { maxLength: 5 }) }),
    ),
  })).value;

  /** A response is `* n FETCH (...)` CRLF, with no line break outside its {n} literals. */
  function wellFormed(response: Buffer, seq: number): void {
    const text = response.toString('latin1');
    expect(text.startsWith(`* ${seq} FETCH (`)).toBe(true);
    expect(text.endsWith(')\r\n')).toBe(true);
    let outside = '';
    let i = 0;
    const literal = /\{(\d+)\}\r\n/y;
    while (i < text.length) {
      literal.lastIndex = i;
      const m = text[i] === '{' ? literal.exec(text) : null;
      if (m) {
        i += m[0].length + Number(m[1]);
        expect(i).toBeLessThanOrEqual(text.length - 3);
      } else {
        outside += text[i];
        i += 1;
      }
    }
    expect(outside.slice(0, -2)).not.toMatch(/[\r\n]/);
  }

  it('never make parseFetch or renderFetch throw, and every response is well formed', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 2 }), (args) => {
        const request = parseFetch(args);
        if ('error' in request) {
          expect(typeof request.error).toBe('string');
          return;
        }
        expect(request.items.length).toBeGreaterThan(0);
        samples.forEach((msg, i) => {
          for (const extra of [NO_EXTRA, { uid: true, flags: true, recent: true }]) wellFormed(renderFetch(msg, i + 1, request, extra), i + 1);
        });
      }),
      { numRuns: 3000 },
    );
  });
});

describe('large messages', () => {
  /** A multipart/mixed message of n text parts and its part tree, built directly so that the index's part cap does not apply. */
  function manyParts(n: number): ImapMessage {
    const head = 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n';
    const pieces = [head];
    let offset = head.length;
    const children: MimePart[] = [];
    for (let i = 0; i < n; i++) {
      const delimiter = '--zz\r\n';
      const header = 'Content-Type: text/plain\r\n\r\n';
      const text = `part ${i}`;
      const headerStart = offset + delimiter.length;
      const bodyStart = headerStart + header.length;
      children.push({
        section: String(i + 1),
        headerStart,
        bodyStart,
        bodyEnd: bodyStart + text.length,
        type: 'text',
        subtype: 'plain',
        params: {},
        encoding: '7bit',
        disposition: null,
        dispositionParams: {},
        filename: null,
        contentId: null,
        children: [],
        message: null,
      });
      pieces.push(delimiter, header, text, '\r\n');
      offset += delimiter.length + header.length + text.length + 2;
    }
    pieces.push('--zz--\r\n');
    const raw = Buffer.from(pieces.join(''), 'latin1');
    const root: MimePart = { ...children[0]!, section: '', headerStart: 0, bodyStart: head.length, bodyEnd: raw.length, type: 'multipart', subtype: 'mixed', params: { boundary: 'zz' }, children };
    return { uid: 1, raw, internalDate: 0, flags: new Set(), digest: { ...digestMessage(Buffer.from('\r\n')), root } };
  }

  /** Best of three, each on a fresh digest so that nothing comes from the structure cache. */
  function timeBodyStructure(n: number): { ms: number; parts: number } {
    let best = Infinity;
    let parts = 0;
    const request = parsed([atom('BODYSTRUCTURE')]);
    for (let run = 0; run < 3; run++) {
      const msg = manyParts(n);
      const start = performance.now();
      const response = renderFetch(msg, 1, request, NO_EXTRA).toString('latin1');
      best = Math.min(best, performance.now() - start);
      parts = response.split('("text" "plain"').length - 1;
    }
    return { ms: best, parts };
  }

  it('renders the BODYSTRUCTURE of a 50,000-part message in linear time', () => {
    const small = timeBodyStructure(5_000);
    const large = timeBodyStructure(50_000);
    expect(small.parts).toBe(5_000);
    expect(large.parts).toBe(50_000);
    // ten times the parts: about ten times the time; quadratic work would take a hundred
    expect(large.ms).toBeLessThan(Math.max(small.ms, 1) * 30);
  });

  it('serves a partial near the start of a large bare-LF message without converting all of it', () => {
    const raw = Buffer.from(`Subject: big\n\n${'0123456789abcdef\n'.repeat(1_000_000)}`, 'latin1');
    const msg: ImapMessage = { uid: 1, raw, internalDate: 0, flags: new Set(), digest: digestMessage(raw) };
    const request = parsed([body([atom('TEXT')], { start: 17, length: 20 })]);
    const start = performance.now();
    const response = renderFetch(msg, 1, request, NO_EXTRA).toString('latin1');
    expect(performance.now() - start).toBeLessThan(50);
    expect(response).toBe('* 1 FETCH (BODY[TEXT]<17> {20}\r\n\n0123456789abcdef\r\n0)\r\n');
  });
});

