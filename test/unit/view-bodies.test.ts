import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { digestMessage } from '../../server/src/mime/digest.js';
import { VIEW_PARSER_OPTIONS, viewBodies, type ViewBodies } from '../../server/src/mime/view-bodies.js';

/*
 * The message view reads text and HTML bodies from the part index when
 * mailparser cannot parse a message. Both must give the same view, so every
 * check here runs both and compares.
 */

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');

async function byMailparser(raw: Buffer): Promise<ViewBodies> {
  const parsed = await simpleParser(raw, VIEW_PARSER_OPTIONS);
  return { text: parsed.text ?? null, html: typeof parsed.html === 'string' ? parsed.html : null };
}

const byIndex = (raw: Buffer): Promise<ViewBodies> => viewBodies(raw, digestMessage(raw).root);

/** A multipart of the given parts, its boundary made from `name`. */
function multipart(subtype: string, name: string, parts: string[]): string {
  return `Content-Type: multipart/${subtype}; boundary=${name}\n\n${parts.map((p) => `--${name}\n${p}\n`).join('')}--${name}--\n`;
}

describe('view bodies from the part index', () => {
  const dir = new URL('../fixtures/mime/', import.meta.url);
  const fixtures = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort();

  // No fixture differs: where the index and mailparser's splitter cut parts
  // differently (a part whose body is one empty line, a part without
  // Content-Type in a multipart/digest), the fallback reads the part as the
  // splitter does.
  it.each(fixtures)('reads %s as mailparser does', async (name) => {
    const raw = readFileSync(new URL(name, dir));
    expect(await byIndex(raw)).toStrictEqual(await byMailparser(raw));
  });

  it('covers the whole corpus', () => {
    expect(fixtures).toHaveLength(84);
  });

  it('joins text parts with "\\n" and HTML parts with "<br/>\\n", rendering HTML as text outside alternatives', async () => {
    const raw = crlf(
      multipart('mixed', 'm', [
        'Content-Type: text/plain\n\none',
        'Content-Type: text/html\n\n<h1>Two</h1><p>2 &amp; <a href="https://x.test/">link</a></p>',
        multipart('alternative', 'a', ['Content-Type: text/plain\n\nthree (plain)', 'Content-Type: text/html\n\n<p>three (html)</p>']),
        'Content-Type: text/plain; name="four.txt"\n\nfour, named but inline',
        'Content-Type: text/plain\nContent-Disposition: attachment\n\nnot a body',
      ]),
    );
    const expected = {
      text: 'one\nTWO\n\n2 & link [https://x.test/]\nthree (plain)\nfour, named but inline',
      html: '<br/>\n<h1>Two</h1><p>2 &amp; <a href="https://x.test/">link</a></p><br/>\n<p>three (html)</p><br/>\n',
    };
    expect(await byMailparser(raw)).toStrictEqual(expected);
    expect(await byIndex(raw)).toStrictEqual(expected);
  });

  it('renders an HTML-only message as text too, and gives null where there is no body', async () => {
    const html = crlf('Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n<p>Gr=FC=DFe</p>');
    expect(await byIndex(html)).toStrictEqual({ text: 'Grüße', html: '<p>Grüße</p>' });
    expect(await byMailparser(html)).toStrictEqual({ text: 'Grüße', html: '<p>Grüße</p>' });
    const none = crlf(multipart('mixed', 'm', ['Content-Type: application/pdf\n\n%PDF']));
    expect(await byIndex(none)).toStrictEqual({ text: null, html: null });
    expect(await byMailparser(none)).toStrictEqual({ text: null, html: null });
  });

  it('opens an inline forwarded message with a block of its headers, and leaves an attached one out', async () => {
    const raw = crlf(
      multipart('mixed', 'm', [
        'Content-Type: text/plain\n\nSee below.',
        'Content-Type: message/rfc822\nContent-Disposition: inline\n\nFrom: Ann <ann@x.test>\nTo: bob@x.test\nSubject: Lunch <Friday>\nDate: Tue, 05 Mar 2024 10:00:00 +0100\n\nInner text.',
        'Content-Type: message/rfc822\n\nFrom: eve@x.test\nSubject: attached\n\nNot shown.',
      ]),
    );
    const expected = {
      text: 'See below.\n\nFrom: "Ann" <ann@x.test>\nSubject: Lunch <Friday>\nDate: Tue, 05 Mar 2024 09:00:00 GMT\nTo: bob@x.test\n\nInner text.',
      html: null,
    };
    expect(await byMailparser(raw)).toStrictEqual(expected);
    expect(await byIndex(raw)).toStrictEqual(expected);
  });

  it('decodes as mailparser does: flowed text, charsets, base64 padded in runs, delivery status', async () => {
    const raw = crlf(
      multipart('report', 'r', [
        'Content-Type: text/plain; format=flowed; delsp=yes\n\nSoft \nbreak, >quoted\n> quoted \n> on',
        'Content-Type: text/plain; charset=usascii\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9',
        'Content-Type: text/plain; charset=windows-1252\n\n\x93quoted\x94',
        'Content-Type: text/plain; charset=utf-7\n\n+ADw-b+AD4-',
        'Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nQQ==\nQg==',
        'Content-Type: message/delivery-status\n\nAction: failed',
      ]),
    );
    const expected = {
      text: 'Softbreak, >quoted\n> quotedon\ncafé\n“quoted”\n+ADw-b+AD4-\nAB\nAction: failed',
      html: null,
    };
    expect(await byMailparser(raw)).toStrictEqual(expected);
    expect(await byIndex(raw)).toStrictEqual(expected);
  });

  it('agrees with mailparser on random MIME trees', async () => {
    await fc.assert(
      fc.asyncProperty(message, async (source) => {
        const raw = Buffer.from(source, 'latin1');
        expect(await byIndex(raw)).toStrictEqual(await byMailparser(raw));
      }),
      { numRuns: 300 },
    );
  });
});

// --- Random messages -----------------------------------------------------------

const word = fc.constantFrom('hello', 'wörld', 'a  b', '', '-- ', '<b>x</b>', '&amp;', 'trailing ', '>quoted', 'café', 'https://x.test/a', '=41', '日本');
const content = fc.array(word, { maxLength: 4 }).chain((words) => fc.constantFrom('\n', ' ', '\n\n').map((glue) => words.join(glue)));

function encode(text: string, encoding: string | null, charset: string | null): string {
  const bytes = Buffer.from(text, charset === 'iso-8859-1' ? 'latin1' : 'utf8');
  if (encoding === 'base64') return bytes.toString('base64').replace(/(.{8})/g, '$1\n');
  if (encoding === 'quoted-printable') return [...bytes].map((b) => (b > 126 || b === 61 ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b))).join('');
  return bytes.toString('latin1');
}

const disposition = fc.constantFrom(null, null, 'inline', 'attachment', 'inline; filename=a.txt', 'attachment; filename="r.html"', 'Inline');

const textLeaf = fc
  .record({
    type: fc.constantFrom('text/plain', 'text/html', 'message/delivery-status', 'application/octet-stream', 'text/calendar', null),
    charset: fc.constantFrom(null, 'utf-8', 'iso-8859-1', 'us-ascii'),
    flowed: fc.constantFrom('', '', '; format=flowed', '; format=flowed; delsp=yes'),
    disposition,
    encoding: fc.constantFrom('7bit', 'base64', 'quoted-printable', null),
    body: content,
  })
  .map(({ type, charset, flowed, disposition: d, encoding, body }) => {
    const fields: string[] = [];
    if (type !== null) fields.push(`Content-Type: ${type}${charset ? `; charset=${charset}` : ''}${type === 'text/plain' ? flowed : ''}`);
    if (d !== null) fields.push(`Content-Disposition: ${d}`);
    if (encoding !== null) fields.push(`Content-Transfer-Encoding: ${encoding}`);
    return `${fields.join('\n')}\n\n${encode(type === 'text/html' ? `<p>${body}</p>` : body, encoding, charset)}`;
  });

const headerBlock = fc
  .record({
    from: fc.constantFrom(null, 'A <a@x.test>', '"B, C" <b@x.test>', '=?utf-8?q?J=C3=B6?= <j@x.test>'),
    subject: fc.constantFrom(null, 's', 'Grüße <x>', '=?utf-8?b?5pel?='),
    date: fc.constantFrom(null, 'Tue, 05 Mar 2024 10:00:00 +0100', '5 Mar 2024 10:00 GMT'),
    to: fc.constantFrom(null, 'x@y.test', 'a@b.test, c@d.test', 'g: a@b.test;'),
  })
  .map(({ from, subject, date, to }) =>
    [from && `From: ${from}`, subject && `Subject: ${subject}`, date && `Date: ${date}`, to && `To: ${to}`].filter(Boolean).map((f) => `${f}\n`).join(''),
  );

let boundaries = 0;
const { entity } = fc.letrec<{ entity: string; multi: string; forwarded: string }>((tie) => ({
  entity: fc.oneof({ depthSize: 'small', withCrossShrink: true }, textLeaf, tie('multi'), tie('forwarded')),
  multi: fc
    .record({
      subtype: fc.constantFrom('mixed', 'alternative', 'related', 'report', 'digest'),
      parts: fc.array(tie('entity'), { minLength: 1, maxLength: 4 }),
      preamble: fc.boolean(),
    })
    .map(({ subtype, parts, preamble }) => {
      const name = `b${(boundaries += 1)}`;
      const body = parts.map((p) => `--${name}\n${p}\n`).join('');
      return `Content-Type: multipart/${subtype}; boundary=${name}\n\n${preamble ? 'preamble\n' : ''}${body}--${name}--`;
    }),
  forwarded: fc
    .record({ disposition, encoding: fc.constantFrom(null, '7bit', 'base64'), headers: headerBlock, inner: tie('entity') })
    .map(({ disposition: d, encoding, headers, inner }) =>
      ['Content-Type: message/rfc822', d && `Content-Disposition: ${d}`, encoding && `Content-Transfer-Encoding: ${encoding}`].filter(Boolean).join('\n') +
      `\n\n${headers}${inner}`,
    ),
}));

/** A message, CRLF or (now and then) bare LF throughout. */
const message = fc
  .tuple(headerBlock, entity, fc.boolean())
  .map(([headers, body, bareLf]) => (bareLf ? `${headers}${body}` : `${headers}${body}`.replace(/\n/g, '\r\n')));
