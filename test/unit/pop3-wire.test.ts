import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wireSize } from '../../server/src/pop3/maildrop.js';
import { PIECE_BYTES, topEnd, wirePieces } from '../../server/src/pop3/wire-pieces.js';

/** The whole-buffer conversion POP2 and POP3 used before replies were streamed: every bare LF becomes CRLF. */
function crlfWhole(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/(?<!\r)\n/g, '\r\n'), 'latin1');
}

/** The RETR data of RFC 1939 §3 built in one go: stuffed, CRLF-terminated, then the lone dot. */
function multilineWhole(bytes: Buffer): Buffer {
  let text = bytes.toString('latin1').replace(/^\./, '..').replace(/\n\./g, '\n..');
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) text += '\r\n';
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

/** TOP over the CRLF form, as before: the header, the empty line and `lines` lines. */
function topWhole(bytes: Buffer, lines: number): Buffer {
  const blank = bytes.indexOf('\r\n\r\n');
  if (blank < 0) return bytes;
  let end = blank + 4;
  for (let n = 0; n < lines && end < bytes.length; n++) {
    const eol = bytes.indexOf(0x0a, end);
    end = eol < 0 ? bytes.length : eol + 1;
  }
  return bytes.subarray(0, end);
}

/** What the sessions write: the pieces, then for POP3 the CRLF if needed and the lone dot. */
function streamed(raw: Buffer, end: number, stuff: boolean): Buffer {
  const out: Buffer[] = [];
  for (const pieces of wirePieces(raw, end, wireSize(raw) !== raw.length, stuff)) out.push(...pieces);
  if (stuff) {
    if (end > 0 && raw[end - 1] !== 0x0a) out.push(Buffer.from('\r\n'));
    out.push(Buffer.from('.\r\n'));
  }
  return Buffer.concat(out);
}

/** Messages made of runs of awkward text, long enough to cross piece boundaries anywhere. */
const messages = fc
  .array(fc.tuple(fc.constantFrom('\n', '\r\n', '.', '\n.', '\r', 'ab', '\n\n', '..', 'x'.repeat(PIECE_BYTES - 1)), fc.integer({ min: 1, max: 3000 })), { maxLength: 12 })
  .map((runs) => Buffer.from(runs.map(([text, times]) => text.repeat(text.length > 100 ? 1 : times)).join(''), 'latin1'));

describe('POP wire form, piece by piece', () => {
  it('gives RETR the bytes the whole-buffer conversion and stuffing gave', () => {
    fc.assert(
      fc.property(messages, (raw) => {
        expect(streamed(raw, raw.length, true).equals(multilineWhole(crlfWhole(raw)))).toBe(true);
        expect(streamed(raw, raw.length, false).equals(crlfWhole(raw))).toBe(true);
        expect(crlfWhole(raw).length).toBe(wireSize(raw));
      }),
      { numRuns: 300 },
    );
  });

  it('gives TOP the lines the search over the CRLF form gave', () => {
    fc.assert(
      fc.property(messages, fc.integer({ min: 0, max: 4000 }), (raw, lines) => {
        expect(streamed(raw, topEnd(raw, lines), true).equals(multilineWhole(topWhole(crlfWhole(raw), lines)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('writes a message needing no change as the stored buffer itself, and one piece per PIECE_BYTES', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect([...wirePieces(raw, raw.length, false, true)]).toStrictEqual([[raw]]);
    const big = Buffer.alloc(PIECE_BYTES * 2 + 1, 'a');
    const pieces = [...wirePieces(big, big.length, false, true)];
    expect(pieces.map((piece) => piece.map((slice) => slice.length))).toStrictEqual([[PIECE_BYTES], [PIECE_BYTES], [1]]);
    expect(pieces.every((piece) => piece.every((slice) => slice.buffer === big.buffer))).toBe(true);
  });
});
