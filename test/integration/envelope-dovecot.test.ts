import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapEnvelope } from '../../server/src/mime/envelope.js';
import { indexMessage, type MimePart } from '../../server/src/mime/part-index.js';
import { fetchEach, startDovecot, type Dovecot } from '../helpers/dovecot/dovecot.js';

/*
 * imapEnvelope() against a real Dovecot 2.3: for every fixture of the MIME
 * corpus the whole untagged FETCH response must be identical, byte for byte
 * (literals included); so must the envelopes of encapsulated messages inside
 * BODYSTRUCTURE, and those of a few hundred generated hostile headers.
 */

const dir = fileURLToPath(new URL('../fixtures/mime/', import.meta.url));
const names = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort();
const messages = names.map((name) => readFileSync(dir + name));

function envelopeResponse(raw: Buffer, seq: number): string {
  return `* ${seq} FETCH (ENVELOPE ${imapEnvelope(raw, 0, indexMessage(raw).root.bodyStart)})`;
}

/** Every message/rfc822 part below `part` (digest children included), depth first. */
function encapsulated(part: MimePart): MimePart[] {
  const found: MimePart[] = [];
  const walk = (p: MimePart): void => {
    if (p.message) {
      found.push(p.message);
      walk(p.message);
    }
    for (const child of p.children) walk(child);
  };
  walk(part);
  return found;
}

describe('ENVELOPE equals Dovecot for every fixture', () => {
  let dovecot: Dovecot;
  let envelopes: string[];
  let bodystructures: string[];

  beforeAll(async () => {
    dovecot = await startDovecot(messages);
    envelopes = await fetchEach(dovecot, 'ENVELOPE');
    bodystructures = await fetchEach(dovecot, 'BODYSTRUCTURE');
  });
  afterAll(() => dovecot?.stop());

  it('has the whole corpus', () => {
    expect(names).toHaveLength(84);
    expect(envelopes).toHaveLength(84);
  });

  it.each(names.map((name, i) => [name, i] as const))('%s', (_name, i) => {
    expect(envelopeResponse(messages[i]!, i + 1)).toBe(envelopes[i]);
  });

  it('gives the envelope of each encapsulated message exactly as inside Dovecot’s BODYSTRUCTURE', () => {
    let checked = 0;
    messages.forEach((raw, i) => {
      for (const message of encapsulated(indexMessage(raw).root)) {
        const envelope = imapEnvelope(raw, message.headerStart, message.bodyStart);
        // in BODYSTRUCTURE a message/rfc822 part reads `... size (envelope) (body) lines ...`
        expect(bodystructures[i], `${names[i]} part ${message.section}`).toContain(` ${envelope} (`);
        checked++;
      }
    });
    expect(checked).toBeGreaterThanOrEqual(9);
  });

  it('reads bare-LF headers as Dovecot serves them, CRLF-normalised: the same envelope', () => {
    for (const name of ['edge-bare-lf.eml', 'edge-mixed-line-endings.eml']) {
      const raw = messages[names.indexOf(name)]!;
      const crlf = Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
      expect(envelopeResponse(raw, 1)).toBe(envelopeResponse(crlf, 1));
    }
  });
});

// Generated headers: address syntax fragments, comments, quoted strings, folding (also onto
// lines holding a single blank), 8-bit and NUL bytes, repeated and oddly spelled field names.
const blank = fc.constantFrom('', ' ', '  ', '\t', '\r\n ', '\r\n\t', '\r\n \r\n ', '\n ');
const comment = fc.constantFrom('(c)', '(a(b)c)', '(x\\)y)', '(\xe9 z)', '(  )', '()', '(\x00)', '(open', '(x\r\n y)');
const atom = fc.constantFrom('a', 'bob', 'j.doe', 'x+y', '\xe9t\xe9', 'NIL', '=?utf-8?q?=C3=A9?=', '.lead', 'trail.', 'a..b', '!#$');
const quoted = fc.constantFrom('""', '"q"', '"q s"', '"a\\"b"', '"a\\\\b"', '"\xe9"', '"x\r\n y"', '"tab\there"', '"a,b"', '"open', '"a\\\r\n b"');
const domain = fc.constantFrom('ex.com', 'b', 'a . b', '[1.2.3.4]', '[a\\]b]', '[x', 'c..d', 'd.', '\xe9.fr');
const special = fc.constantFrom('<', '>', '@', ',', ';', ':', '.', '"', '\\', '\x00', '\r', '<@r1,@r2:', ', ', 'g:', ';,');
const value = fc.array(fc.oneof(blank, comment, atom, quoted, domain, special), { maxLength: 16 }).map((tokens) => tokens.join(''));
const fieldName = fc.constantFrom('From', 'To', 'Cc', 'Bcc', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'to', 'SUBJECT', 'X-Other');
const field = fc
  .tuple(fieldName, fc.constantFrom(':', ': ', ' :', ':\t', ':  '), value)
  .map(([name, colon, text]) => `${name}${colon}${text}`);
const header = fc
  .tuple(fc.array(field, { minLength: 1, maxLength: 5 }), fc.constantFrom('\r\n', '\n'))
  .map(([fields, eol]) => `${fields.join(eol)}${eol}${eol}body${eol}`);
const generated = fc.sample(header, { seed: 20240307, numRuns: 1000 }).map((text) => Buffer.from(text, 'latin1'));

describe('ENVELOPE equals Dovecot for generated hostile headers', () => {
  let dovecot: Dovecot;
  let envelopes: string[];

  beforeAll(async () => {
    dovecot = await startDovecot(generated);
    envelopes = await fetchEach(dovecot, 'ENVELOPE');
  });
  afterAll(() => dovecot?.stop());

  it(`matches on all ${generated.length} of them`, () => {
    const mismatches = generated
      .map((raw, i) => ({ header: raw.toString('latin1'), ours: envelopeResponse(raw, i + 1), dovecot: envelopes[i] }))
      .filter(({ ours, dovecot: theirs }) => ours !== theirs);
    expect(mismatches).toStrictEqual([]);
  });
});
