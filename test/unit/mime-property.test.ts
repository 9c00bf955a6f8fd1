import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import MimeNode from 'nodemailer/lib/mime-node/index.js';
import { describe, expect, it } from 'vitest';
import { partBody, partText } from '../../server/src/mime/decode.js';
import { findPart } from '../../server/src/mime/find-part.js';
import { indexMessage, type MimePart } from '../../server/src/mime/part-index.js';

/*
 * Property tests for the MIME part indexer: trees built by an independent
 * writer (nodemailer) must come back as the same tree, and no corruption of
 * real or generated mail may make the indexer or its readers throw or hand
 * out ranges that do not fit the message.
 */

// --- Random MIME trees -------------------------------------------------------

type TextEncoding = 'auto' | 'quoted-printable' | 'base64';
/** Outside text nodemailer writes any other declared encoding as is, so the bytes pass through raw. */
type BytesEncoding = 'auto' | 'base64' | 'quoted-printable' | '7bit' | '8bit' | 'binary';
/** 'none' leaves the header out; base64 and quoted-printable are against RFC 2046 §5.2.1 but seen in the wild. */
type MessageEncoding = 'none' | '7bit' | '8bit' | 'binary' | 'base64' | 'quoted-printable';

type Spec =
  | { kind: 'multipart'; subtype: string; children: Spec[] }
  | { kind: 'text'; subtype: 'plain' | 'html'; text: string; encoding: TextEncoding; filename: string | null }
  | { kind: 'bytes'; mediaType: 'application/octet-stream' | 'image/png'; bytes: Uint8Array; encoding: BytesEncoding; filename: string | null }
  | { kind: 'message'; encoding: MessageEncoding; inner: Spec };

const BOUNDARY_PREFIX = '--_NmP';

/**
 * Lines a parser could mistake for structure: dashes (delimiters), "From "
 * (mbox), near-misses of the boundaries nodemailer generates here (prefix
 * collisions), header-like and blank lines.
 */
const trickyLine = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `--${s}`),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `From ${s}`),
  fc
    .tuple(fc.nat({ max: 12 }), fc.nat({ max: 12 }), fc.constantFrom('x', '_', ' x', '-x', '0x', '---'))
    .map(([base, part, tail]) => `--${BOUNDARY_PREFIX}-b${base}-Part_${part}${tail}`),
  fc.constantFrom('--', '----', '', ' ', 'Content-Type: multipart/mixed; boundary=x', '.', '=', '=41'),
);
const asciiLine = fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 60 }), trickyLine);
const anyLine = fc.oneof(
  { weight: 2, arbitrary: asciiLine },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
);
/** Mostly CRLF, but bare LF and CR as well: nodemailer passes 7bit text through untouched. */
const lineBreak = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r');
const textOf = (line: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(fc.array(fc.tuple(line, lineBreak), { maxLength: 12 }), fc.boolean()).map(([lines, trailingBreak]) => {
    const joined = lines.map(([l, brk]) => l + brk).join('');
    return trailingBreak || lines.length === 0 ? joined : joined.slice(0, joined.length - lines.at(-1)![1].length);
  });
/** ASCII-only text goes out as 7bit, the rest as quoted-printable or base64. */
const text = fc.oneof(textOf(asciiLine), textOf(anyLine));

/**
 * Non-ASCII names with the characters that need quoting or RFC 2231 encoding,
 * white space at either end, and text that looks like an encoded word.
 */
const filename = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
        fc.constantFrom('ä', 'ø', 'ß', '日本', 'файл', '🙂', 'é', ' ', '  ', '\t', '"', ';', '\\', "'", '%', '*', '(', ')', '=', ',', '=?', '=?utf-8?Q?a?='),
      ),
      { minLength: 1, maxLength: 5 },
    ),
    fc.constantFrom('.txt', '.bin', '.png', '.pdf', '', '.tar.gz'),
  )
  .map(([pieces, ext]) => pieces.join('') + ext);
const maybeFilename = fc.option(filename, { nil: null, freq: 2 });

const textLeaf: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constant('text' as const),
  subtype: fc.constantFrom('plain' as const, 'html' as const),
  text,
  encoding: fc.constantFrom<TextEncoding>('auto', 'auto', 'quoted-printable', 'base64'),
  filename: maybeFilename,
});
const bytesLeaf: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constant('bytes' as const),
  mediaType: fc.constantFrom('application/octet-stream' as const, 'image/png' as const),
  bytes: fc.uint8Array({ maxLength: 300 }),
  encoding: fc.constantFrom<BytesEncoding>('auto', 'base64', 'quoted-printable', '7bit', '8bit', 'binary'),
  filename: maybeFilename,
});

/** Up to `maxDepth` levels and up to `maxChildren` children per multipart; leaves grow likelier with depth. */
function mimeTree(maxDepth: number, maxChildren: number): fc.Arbitrary<Spec> {
  const depthIdentifier = `mime-${maxDepth}-${maxChildren}`;
  const tree = fc.letrec<{ node: Spec; multipart: Spec; message: Spec }>((tie) => ({
    node: fc.oneof(
      { maxDepth, depthIdentifier, depthSize: 'small' },
      // The first one is what the depth cap falls back to.
      { weight: 4, arbitrary: fc.oneof(textLeaf, bytesLeaf) },
      { weight: 3, arbitrary: tie('multipart') },
      { weight: 1, arbitrary: tie('message') },
    ),
    multipart: fc.record({
      kind: fc.constant('multipart' as const),
      subtype: fc.constantFrom('mixed', 'alternative', 'related', 'digest'),
      children: fc.array(tie('node'), { minLength: 1, maxLength: maxChildren, depthIdentifier }),
    }),
    message: fc.record({
      kind: fc.constant('message' as const),
      encoding: fc.constantFrom<MessageEncoding>('none', 'none', '7bit', '8bit', 'binary', 'base64', 'quoted-printable'),
      inner: tie('node'),
    }),
  }));
  // Most real mail is multipart at the top; single-part messages still come up.
  return fc.oneof({ weight: 1, arbitrary: tree.node }, { weight: 3, arbitrary: tree.multipart });
}

function mediaTypeOf(spec: Spec): string {
  switch (spec.kind) {
    case 'multipart':
      return `multipart/${spec.subtype}`;
    case 'text':
      return `text/${spec.subtype}`;
    case 'bytes':
      return spec.mediaType;
    case 'message':
      return 'message/rfc822';
  }
}

// --- Serialising with nodemailer ---------------------------------------------

/**
 * nodemailer's `newline` option: 'lf' strips every CR from the output, 'crlf'
 * turns every bare LF into CRLF, in bodies that pass through as is too.
 */
type Newline = 'keep' | 'lf' | 'crlf';
const NEWLINE_OPTION = { keep: undefined, lf: 'linux', crlf: 'win' } as const;
/** The same rewriting, so that content can be compared after it. */
const LINE_ENDS: Record<Newline, (text: string) => string> = {
  keep: (text) => text,
  lf: (text) => text.replaceAll('\r', ''),
  crlf: (text) => text.replace(/\r?\n/g, '\r\n'),
};

/** What nodemailer finally wrote for each spec node, read back after building. */
interface Written {
  newline: Newline;
  encoding: Map<Spec, string>;
  /** The bytes of each encapsulated message. */
  inner: Map<Spec, Buffer>;
  /** Every built message gets its own base boundary, so nested messages never share one. */
  messages: number;
}

async function buildMessage(spec: Spec, written: Written): Promise<Buffer> {
  const id = written.messages++;
  const root = new MimeNode(mediaTypeOf(spec), {
    // Encapsulated messages go out with CRLF; the top one rewrites them with the rest.
    newline: id === 0 ? NEWLINE_OPTION[written.newline] : undefined,
    baseBoundary: `b${id}`,
    boundaryPrefix: BOUNDARY_PREFIX,
    ...('filename' in spec && spec.filename !== null ? { filename: spec.filename } : {}),
  });
  // Fixed, so that a failing case prints the same bytes every time.
  root.setHeader('Date', 'Mon, 01 Jan 2024 00:00:00 +0000');
  root.setHeader('Message-ID', `<m${id}@mailroom.test>`);
  const nodes = new Map<Spec, MimeNode>();
  await fill(root, spec, written, nodes);
  const raw = await root.build();
  for (const [leaf, node] of nodes) {
    written.encoding.set(leaf, String(node.getHeader('Content-Transfer-Encoding') || '7bit'));
  }
  return raw;
}

async function fill(node: MimeNode, spec: Spec, written: Written, nodes: Map<Spec, MimeNode>): Promise<void> {
  nodes.set(spec, node);
  switch (spec.kind) {
    case 'multipart':
      for (const child of spec.children) {
        const options = 'filename' in child && child.filename !== null ? { filename: child.filename } : {};
        await fill(node.createChild(mediaTypeOf(child), options), child, written, nodes);
      }
      return;
    case 'text':
      node.setContent(spec.text);
      if (spec.encoding !== 'auto') node.setHeader('Content-Transfer-Encoding', spec.encoding);
      return;
    case 'bytes':
      node.setContent(Buffer.from(spec.bytes));
      if (spec.encoding !== 'auto') node.setHeader('Content-Transfer-Encoding', spec.encoding);
      return;
    case 'message': {
      const inner = await buildMessage(spec.inner, written);
      written.inner.set(spec, inner);
      node.setContent(inner);
      if (spec.encoding !== 'none') node.setHeader('Content-Transfer-Encoding', spec.encoding);
      return;
    }
  }
}

async function serialise(spec: Spec, newline: Newline = 'keep'): Promise<{ raw: Buffer; written: Written }> {
  const written: Written = { newline, encoding: new Map(), inner: new Map(), messages: 0 };
  return { raw: await buildMessage(spec, written), written };
}

// --- Comparing the index with the tree ---------------------------------------

/**
 * Content compared after nodemailer's line-end rewriting. A leaf that is a
 * whole message runs to the end of the data, so it may also hold the line
 * break nodemailer appends to every message not ending in one.
 */
function sameContent(actual: string, expected: string, lenient: boolean, newline: Newline): boolean {
  const a = LINE_ENDS[newline](actual);
  const e = LINE_ENDS[newline](expected);
  return a === e || (lenient && (a === `${e}\r\n` || a === `${e}\n`));
}

/**
 * Whether the last entity inside a message/rfc822 part is a header with an
 * empty body that reaches the part's end. Its blank line may then be the line
 * break before the next delimiter, which Dovecot (and so the indexer) counts
 * into the message, one line break more than RFC 2046 §5.1.1 would.
 * nodemailer makes this when a transfer-encoded message is read into anyway.
 */
function endsInBareHeader(part: MimePart): boolean {
  let last = part.message;
  while (last !== null && (last.children.length > 0 || last.message !== null)) last = last.children.at(-1) ?? last.message;
  return last !== null && last.bodyStart === last.bodyEnd && last.bodyEnd === part.bodyEnd;
}

/**
 * Walks the index and the spec together. `leafSection` and `multipartSection`
 * are the numbers IMAP gives the entity if it is a leaf or a multipart.
 */
function expectEntity(
  raw: Buffer,
  part: MimePart,
  spec: Spec,
  numbers: { leaf: string; multipart: string },
  wholeMessage: boolean,
  written: Written,
): void {
  const where = `part ${JSON.stringify(numbers.leaf)} (${mediaTypeOf(spec)})`;
  expect(`${part.type}/${part.subtype}`, where).toBe(mediaTypeOf(spec));
  if (spec.kind === 'multipart') {
    expect(part.section, where).toBe(numbers.multipart);
    expect(part.message, where).toBeNull();
    expect(part.children.length, where).toBe(spec.children.length);
    spec.children.forEach((child, i) => {
      const n = numbers.multipart === '' ? String(i + 1) : `${numbers.multipart}.${i + 1}`;
      expectEntity(raw, part.children[i]!, child, { leaf: n, multipart: n }, false, written);
    });
    return;
  }
  expect(part.section, where).toBe(numbers.leaf);
  expect(part.children, where).toHaveLength(0);
  expect(part.encoding, where).toBe(written.encoding.get(spec));
  if (spec.kind === 'message') {
    const inner = written.inner.get(spec)!;
    const lenient = wholeMessage || endsInBareHeader(part);
    const body = partBody(raw, part).toString('latin1');
    if (!sameContent(body, inner.toString('latin1'), lenient, written.newline)) {
      expect(body, `${where}: encapsulated message`).toBe(inner.toString('latin1'));
    }
    // Encoded message/rfc822 breaks RFC 2046 §5.2.1: whether to read into it
    // anyway (Dovecot does, finding no header fields) is the indexer's choice.
    if (['none', '7bit', '8bit', 'binary'].includes(spec.encoding)) {
      expect(part.message, where).not.toBeNull();
      const n = `${numbers.leaf}.1`;
      expectEntity(raw, part.message!, spec.inner, { leaf: n, multipart: numbers.leaf }, true, written);
    }
    return;
  }
  expect(part.message, where).toBeNull();
  expect(part.filename, `${where}: filename`).toBe(spec.filename);
  expect(part.disposition, `${where}: disposition`).toBe(spec.filename === null ? null : 'attachment');
  if (spec.kind === 'text') {
    const decoded = partText(raw, part);
    if (!sameContent(decoded, spec.text, wholeMessage, written.newline)) expect(decoded, `${where}: text`).toBe(spec.text);
  } else {
    const bytes = Buffer.from(spec.bytes);
    const decoded = partBody(raw, part);
    if (!sameContent(decoded.toString('latin1'), bytes.toString('latin1'), wholeMessage, written.newline)) {
      expect(decoded.toString('hex'), `${where}: bytes`).toBe(bytes.toString('hex'));
    }
  }
}

function allParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    out.push(part);
    stack.push(...part.children);
    if (part.message) stack.push(part.message);
  }
  return out;
}

/**
 * The parts IMAP numbers on their own: all but the top-level multipart ('')
 * and a multipart that is a message's body (it repeats the message's number).
 */
function numberedParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const visit = (part: MimePart, repeated: boolean): void => {
    if (part.section !== '' && !repeated) out.push(part);
    for (const child of part.children) visit(child, false);
    if (part.message) visit(part.message, part.message.section === part.section);
  };
  visit(root, false);
  return out;
}

describe('MIME index of nodemailer-built trees', () => {
  it('gives back the tree that was built: sections, types, filenames and content', async () => {
    await fc.assert(
      fc.asyncProperty(mimeTree(5, 8), fc.constantFrom<Newline>('keep', 'keep', 'lf', 'crlf'), async (spec, newline) => {
        const { raw, written } = await serialise(spec, newline);
        const { root, truncated } = indexMessage(raw);
        expect(truncated).toBe(false);
        expectEntity(raw, root, spec, { leaf: '1', multipart: '' }, true, written);
        for (const part of numberedParts(root)) expect(findPart(root, part.section), `findPart(${part.section})`).toBe(part);
      }),
      { numRuns: 250 },
    );
  });
});

// --- Corrupted input ---------------------------------------------------------

const FIXTURES = new URL('../fixtures/mime/', import.meta.url);
const fixtures = new Map(
  readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .map((name) => [name, readFileSync(new URL(name, FIXTURES))] as const),
);

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  /** Copies a slice elsewhere, which moves delimiter lines and headers out of place. */
  | { op: 'copy'; from: number; length: number; at: number }
  | { op: 'truncate'; at: number };

/** Bytes that matter to a MIME parser, inserted more often than random ones would be. */
const SYNTAX = [
  '\r\n',
  '\n',
  '\r',
  '--',
  '\r\n--',
  '\r\n\r\n',
  '--\r\n',
  ' ',
  '\t',
  '"',
  ';',
  'Content-Type: multipart/mixed; boundary=',
  'Content-Type: message/rfc822\r\n\r\n',
  'Content-Type: multipart/digest; boundary="x"\r\n\r\n--x\r\n\r\n',
  'Content-Transfer-Encoding: base64\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n',
  'Content-Transfer-Encoding: x-uuencode\r\n',
  'begin 644 a.bin\r\n',
  'end\r\n',
  'Content-Disposition: attachment; filename*0*=x\'\'%FF%; filename*1=',
  'charset=utf-7; ',
  'charset=iso-2022-jp; ',
  '=?utf-8?B?',
  '?=',
  '=\r\n',
  '=F',
].map((s) => Buffer.from(s, 'latin1'));

const position = fc.nat({ max: 1 << 20 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: position,
    bytes: fc.oneof(fc.constantFrom(...SYNTAX), fc.uint8Array({ minLength: 1, maxLength: 16 })),
  }),
  fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('copy' as const), from: position, length: fc.integer({ min: 1, max: 400 }), at: position }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });

function mutate(original: Buffer, ops: readonly Mutation[]): Buffer {
  let raw = Buffer.from(original);
  const at = (n: number): number => n % (raw.length + 1);
  for (const m of ops) {
    switch (m.op) {
      case 'flip':
        if (raw.length > 0) raw[m.at % raw.length]! ^= 1 << m.bit;
        break;
      case 'insert':
        raw = Buffer.concat([raw.subarray(0, at(m.at)), m.bytes, raw.subarray(at(m.at))]);
        break;
      case 'delete':
        raw = Buffer.concat([raw.subarray(0, at(m.at)), raw.subarray(at(m.at) + m.length)]);
        break;
      case 'copy': {
        const from = at(m.from);
        raw = Buffer.concat([raw.subarray(0, at(m.at)), raw.subarray(from, from + m.length), raw.subarray(at(m.at))]);
        break;
      }
      case 'truncate':
        raw = raw.subarray(0, at(m.at));
        break;
    }
  }
  return raw;
}

/**
 * What must hold for any input at all. Problems are collected rather than
 * asserted one by one: expect() per part would cost more than the indexing.
 */
function expectSound(raw: Buffer): void {
  const { root } = indexMessage(raw);
  const problems: string[] = [];
  for (const part of allParts(root)) {
    const { headerStart, bodyStart, bodyEnd } = part;
    if (!(headerStart >= 0 && headerStart <= bodyStart && bodyStart <= bodyEnd && bodyEnd <= raw.length)) {
      problems.push(`part ${JSON.stringify(part.section)}: ranges ${headerStart} ${bodyStart} ${bodyEnd} in ${raw.length} bytes`);
    }
    if (part.section !== '' && findPart(root, part.section) === null) problems.push(`findPart(${part.section}) found nothing`);
    partBody(raw, part);
  }
  const sections = numberedParts(root).map((part) => part.section);
  if (new Set(sections).size !== sections.length) problems.push(`sections repeat: ${sections.join(' ')}`);
  expect(problems).toStrictEqual([]);
}

describe('MIME index of corrupted mail', () => {
  it.each([...fixtures])('is sound on the fixture %s as it is', (_name, raw) => {
    expectSound(raw);
  });

  it('is sound on mutated fixtures', () => {
    fc.assert(
      // By name, so that a counterexample reads as a file name rather than its bytes.
      fc.property(fc.constantFrom(...fixtures.keys()), mutations, (name, ops) => {
        expectSound(mutate(fixtures.get(name)!, ops));
      }),
      { numRuns: 5000 },
    );
  });

  it('is sound on mutated nodemailer-built messages', async () => {
    await fc.assert(
      fc.asyncProperty(mimeTree(4, 4), mutations, async (spec, ops) => {
        const { raw } = await serialise(spec);
        expectSound(mutate(raw, ops));
      }),
      { numRuns: 500 },
    );
  });
});
