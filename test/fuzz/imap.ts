import { Changes, FuzzConn, show, type Observer } from './conn.js';
import type { CaseEnv } from './env.js';
import { READERS, SCRATCH } from './env.js';
import { looksLikeRequestLine } from './lines.js';
import { bytes, fragments, junk, mutateArg, swapCase, utf8 } from './mutate.js';
import type { Rng } from './random.js';

export const IMAP_CAPABILITIES =
  'IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE ESEARCH SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES';
export const IMAP_GREETING = `* OK [CAPABILITY ${IMAP_CAPABILITIES} AUTH=PLAIN] Mailroom IMAP ready`;

/** RFC 3501 §9 tag: ASTRING-CHAR but "+": printable ASCII but ( ) { % * " \ + and space. */
const TAG = /^[\x21\x23-\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]+$/;
const UNTAGGED =
  /^\* (?:(?:OK|NO|BAD|BYE|PREAUTH)(?: .*)?|CAPABILITY .+|FLAGS \(.*\)|LIST \(.*|LSUB \(.*|STATUS .+|SEARCH(?: [\d ]+)?|ESEARCH.*|SORT(?: [\d ]+)?|THREAD.*|ID .+|ENABLED.*|NAMESPACE .+|\d+ (?:EXISTS|RECENT|EXPUNGE)|\d+ FETCH \(.*)$/s;
/** The server's literal announcement at the end of a response line: {n}, or ~{n} (RFC 3516 literal8). */
const SERVER_LITERAL = /~?\{(\d+)\}$/;
/** What the reader takes as a literal announcement at the end of a client line (imap/wire/command-reader.ts). */
const CLIENT_LITERAL = /\{(\d{1,20})(\+?)\}$/;

export interface Tagged {
  status: 'OK' | 'NO' | 'BAD';
  line: string;
}

/**
 * Checks an IMAP server's output for form (RFC 3501 §7 and §9): every
 * response is untagged (`*`), a continuation (`+`), or a tagged completion
 * whose tag the client sent as the first word of a line; literals are read
 * by their announced length; outside them only 7-bit characters without
 * NUL, CR or LF appear; nothing but a tagged completion follows BYE, and
 * the server says BYE before it closes. Tagged completions are kept for the
 * cases to check in order.
 */
export class ImapModel implements Observer {
  readonly problems: string[] = [];
  readonly changes = new Changes();
  readonly completions = new Map<string, Tagged>();
  /** Tags in the order their completions came. */
  readonly order: string[] = [];
  private readonly words = new Set<string>();
  private clientLine: Buffer[] = [];
  private clientLines = 0;
  private firstLineHttp = false;
  private buffer: Buffer = Buffer.alloc(0);
  /** A response line being assembled across literals. */
  private literalLeft = 0;
  private parts = 0;
  greeted = false;
  /** HTTP was sent on purpose: the error that answers it may be other than BYE. */
  httpCase = false;
  bye = false;
  ended = false;
  /** Responses after the greeting. */
  responses = 0;
  continuations = 0;
  /** The first 50 untagged responses (first lines), for exact checks. */
  readonly untagged: string[] = [];
  lastActivity = Date.now();

  sent(chunk: Buffer): void {
    this.lastActivity = Date.now();
    let start = 0;
    for (let lf = chunk.indexOf(0x0a); lf >= 0; lf = chunk.indexOf(0x0a, start)) {
      this.clientLine.push(chunk.subarray(start, lf));
      this.endClientLine(Buffer.concat(this.clientLine));
      this.clientLine = [];
      start = lf + 1;
    }
    if (start < chunk.length && this.clientLine.reduce((n, b) => n + b.length, 0) < 256) this.clientLine.push(chunk.subarray(start, start + 256));
  }

  private endClientLine(line: Buffer): void {
    // The tag as the parser reads it: up to a space or CR (imap/wire/parser.ts).
    const word = line.toString('latin1', 0, Math.min(line.length, 300)).split(/[ \r]/, 1)[0]!;
    this.words.add(word);
    if (word.length > 64) this.words.add(word.slice(0, 64));
    if (this.clientLines++ === 0 && looksLikeRequestLine(line.toString('utf8').replace(/\r$/, ''))) this.firstLineHttp = true;
  }

  received(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.parse();
    this.changes.notify();
  }

  serverClosed(): void {
    this.ended = true;
    if (this.buffer.length > 0) this.problem(`the server closed in the middle of a response: ${show(this.buffer)}`);
    if (!this.bye && !this.httpCase && !this.firstLineHttp) this.problem('the server closed the connection without BYE');
    this.changes.notify();
  }

  problem(text: string): void {
    if (this.problems.length < 5) this.problems.push(text);
  }

  tagged(tag: string): Tagged | undefined {
    return this.completions.get(tag);
  }

  private parse(): void {
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buffer.length < this.literalLeft) {
          this.literalLeft -= this.buffer.length;
          this.buffer = Buffer.alloc(0);
          return;
        }
        this.buffer = this.buffer.subarray(this.literalLeft);
        this.literalLeft = 0;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const piece = this.buffer.toString('latin1', 0, end);
      this.buffer = this.buffer.subarray(end + 2);
      if (/[^\x01-\x09\x0b\x0c\x0e-\x7f]/.test(piece)) this.problem(`NUL, bare CR or LF, or 8-bit byte outside a literal: ${show(piece)}`);
      const literal = SERVER_LITERAL.exec(piece);
      if (this.parts++ === 0) this.first(piece);
      if (literal) {
        this.literalLeft = Number(literal[1]);
        continue;
      }
      this.parts = 0;
    }
  }

  /** The first line of a response: its form, and what it means for the session. */
  private first(line: string): void {
    if (!this.greeted) {
      this.greeted = true;
      if (line !== IMAP_GREETING) this.problem(`greeting ${show(line)} is not ${show(IMAP_GREETING)}`);
      return;
    }
    this.responses += 1;
    if (this.firstLineHttp && this.responses === 2) this.problem(`answered beyond one error after an HTTP request line: ${show(line)}`);
    if (this.firstLineHttp && this.responses === 1 && !/^(\* (BYE|BAD|NO) |\S+ (BAD|NO) )/.test(line)) this.problem(`an HTTP request line got ${show(line)}, not an error`);
    if (line.startsWith('+')) {
      if (!/^\+( |$)/.test(line)) this.problem(`malformed continuation ${show(line)}`);
      this.continuations += 1;
      if (this.bye) this.problem(`continuation after BYE: ${show(line)}`);
      return;
    }
    if (line.startsWith('* ')) {
      if (this.untagged.length < 50) this.untagged.push(line);
      if (!UNTAGGED.test(line)) this.problem(`malformed untagged response ${show(line)}`);
      if (this.bye) this.problem(`untagged response after BYE: ${show(line)}`);
      if (line.startsWith('* BYE')) this.bye = true;
      return;
    }
    const match = /^(\S+) (OK|NO|BAD) (.+)$/s.exec(line);
    if (!match) return this.problem(`neither untagged, continuation nor tagged: ${show(line)}`);
    const tag = match[1]!;
    if (!TAG.test(tag)) this.problem(`completion with an invalid tag: ${show(line)}`);
    else if (!this.words.has(tag)) this.problem(`completion for a tag the client never sent: ${show(line)}`);
    if (this.completions.has(tag)) {
      // Junk may repeat a tag; the cases' own tags are unique.
      if (/^t\d+$/.test(tag)) this.problem(`second completion for ${tag}: ${show(line)}`);
    } else {
      this.completions.set(tag, { status: match[2] as Tagged['status'], line });
      this.order.push(tag);
    }
  }
}

/** A command of a case, with its unique tag. */
interface Command {
  tag: string;
  bytes: Buffer;
  /** Lines to send after the command without waiting (IDLE's DONE, a SASL response). */
  then?: Buffer;
  /** Sent as a synchronizing literal: wait for the continuation before the rest. */
  literal?: { head: Buffer; body: Buffer; tail: Buffer };
}

const FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Draft', '$Forwarded', 'fuzz', '\\Recent', '\\*', '(', ''];
const SETS = ['1', '1:*', '*', '2,4:6', '1:2', '3', '0', '*:1', '4294967296', '1:4294967295', '1,1,1,1', '9999', '$'];
const FETCH_ITEMS = [
  'FLAGS', 'UID', 'RFC822.SIZE', 'INTERNALDATE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'BODY.PEEK[]', 'BODY.PEEK[HEADER]', 'BODY.PEEK[TEXT]',
  'BODY.PEEK[1]', 'BODY.PEEK[1.MIME]', 'BODY.PEEK[2.1]', 'BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]', 'BODY.PEEK[HEADER.FIELDS.NOT (DATE)]',
  'BODY.PEEK[]<0.100>', 'BODY.PEEK[]<4294967295.1>', 'BODY[]', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'BINARY.PEEK[1]', 'BINARY.SIZE[1]',
  'ALL', 'FAST', 'FULL', 'BODY.PEEK[0]', 'BODY.PEEK[1.2.3.4.5.6.7.8.9]',
];
const SEARCH_KEYS = [
  'ALL', 'SEEN', 'UNSEEN', 'DELETED', 'FLAGGED', 'NEW', 'OLD', 'RECENT', 'SUBJECT fuzz', 'FROM "a b"', 'TO keep', 'BODY x', 'TEXT "\\"',
  'HEADER X-Fuzz y', 'LARGER 100', 'SMALLER 4294967296', 'BEFORE 1-Jan-2000', 'SINCE 31-Feb-2024', 'ON 1-Foo-2024', 'UID 1:*', 'NOT ALL',
  'OR SEEN UNSEEN', '(SEEN FLAGGED)', 'KEYWORD fuzz', 'CHARSET UTF-8 SUBJECT x', 'CHARSET X-UNKNOWN ALL', 'SENTBEFORE 1-Jan-2030', '1:3',
  'HEADER "" ""', 'RETURN (MIN MAX COUNT)',
];
const STATUS_ITEMS = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'HIGHESTMODSEQ'];

/** A mailbox name: the usual ones, hierarchies, long and repetitive ones (for LIST's matching), hostile ones. */
function mailboxName(rng: Rng, scratch: boolean): string {
  const name = rng.weighted<() => string>([
    [4, () => rng.pick(['INBOX', 'Sent', 'Drafts', 'Trash', 'Fuzz', 'Fuzz/Sub', 'inbox', 'INBOX/child', 'fuzz/a/b/c'])],
    [2, () => `F${rng.int(0, 30)}${rng.chance(0.3) ? `/${rng.int(0, 5)}` : ''}`],
    [1, () => 'a'.repeat(rng.int(20, 1000))],
    [1, () => Array.from({ length: rng.int(2, 40) }, () => 'a').join('/')],
    [1, () => rng.text(rng.int(1, 40), 'aAb%*/."\\&-+~é')],
  ])();
  // Renaming INBOX empties it into a new folder, which deletes from the store: scratch sessions only.
  return !scratch && /^inbox$/i.test(name) ? 'INBOX' : name;
}

/** A LIST pattern: plain names, single wildcards, and runs of wildcards between letters that regex-based matchers backtrack on. */
function listPattern(rng: Rng): string {
  return rng.weighted<() => string>([
    [3, () => rng.pick(['*', '%', 'INBOX', 'F%', 'Fuzz/*', '%/%', '', 'a*'])],
    [2, () => rng.text(rng.int(4, 30), '*%a') + rng.pick(['b', '', 'a', '/b'])],
    [1, () => `${'*a'.repeat(rng.int(3, 12))}b`],
  ])();
}

/**
 * An argument mutated by mutateArg, kept from ending a line in a literal
 * announcement the case did not mean to make: the server would then wait
 * for octets that are really the next commands.
 */
function arg(rng: Rng, value: string, p: number): Buffer {
  return noStrayLiteral(mutateArg(rng, value, p, [300, 70_000]));
}

/** An IMAP string: atom, quoted, or non-synchronizing literal, so that it can be pipelined. */
function astring(rng: Rng, value: string, p: number): Buffer {
  const v = arg(rng, value, p);
  const form = rng.int(0, 9);
  if (form < 4 && /^[\x21\x23-\x27\x2b-\x5b\x5e-\x7a\x7c-\x7e]+$/.test(v.toString('latin1'))) return v;
  if (form < 8 || v.length > 4000) return bytes('"', Buffer.from(v.toString('latin1').replace(/["\\]/g, '\\$&'), 'latin1'), '"');
  return bytes(`{${v.length}+}\r\n`, v);
}

/** Any segment of `text` that may end a line and would end it in `{n}` or `{n+}` gets an `x` after it. */
function noStrayLiteral(text: Buffer): Buffer {
  const segments = text.toString('latin1').split('\n');
  const fixed = segments.map((segment) => {
    const bare = segment.replace(/\r+$/, '');
    return CLIENT_LITERAL.test(bare) ? `${bare}x${segment.slice(bare.length)}` : segment;
  });
  return Buffer.from(fixed.join('\n'), 'latin1');
}

function message(rng: Rng, to: string): Buffer {
  const body = rng.chance(0.2) ? junk(rng, rng.int(0, 2000)) : utf8(`Hello ${rng.int(0, 1e6)}\r\n`);
  return bytes(`From: imap-fuzz@fuzz.test\r\nTo: ${to}\r\nSubject: appended ${rng.int(0, 1e6)}\r\nMessage-ID: <${rng.int(0, 1e9)}@fuzz.test>\r\n\r\n`, body);
}

/** One command, arguments mutated, with a tag of its own. */
function someCommand(rng: Rng, tag: string, scratch: boolean, p: number): Command {
  const name = rng.weighted<string>([
    [2, 'NOOP'], [1, 'CAPABILITY'], [1, 'ID'], [1, 'NAMESPACE'], [1, 'ENABLE'], [3, 'SELECT'], [2, 'EXAMINE'], [2, 'CREATE'], [1, 'DELETE'],
    [1, 'RENAME'], [1, 'SUBSCRIBE'], [1, 'UNSUBSCRIBE'], [3, 'LIST'], [1, 'LSUB'], [2, 'STATUS'], [2, 'APPEND'], [1, 'IDLE'], [1, 'CHECK'],
    [1, 'CLOSE'], [1, 'UNSELECT'], [1, 'EXPUNGE'], [5, 'FETCH'], [3, 'STORE'], [2, 'COPY'], [1, 'MOVE'], [3, 'SEARCH'], [2, 'SORT'],
    // Scratch sessions never log in again: as another user they could expunge the seeds.
    [1, 'THREAD'], [1, 'STARTTLS'], [scratch ? 0 : 1, 'LOGIN'], [1, 'FROB'], [1, 'UID'],
  ]);
  const arg1 = (value: string): Buffer => arg(rng, value, p);
  const sp = utf8(' ');
  const parts: Buffer[] = [];
  let then: Buffer | undefined;
  let literal: Command['literal'];
  const box = (): Buffer => astring(rng, mailboxName(rng, scratch), p);
  const flags = (): Buffer =>
    utf8(`(${Array.from({ length: rng.int(0, 3) }, () => rng.pick(scratch ? [...FLAGS, '\\Deleted'] : FLAGS)).join(' ')})`);
  const search = (): Buffer => Buffer.concat(Array.from({ length: rng.int(1, 3) }, (_, i) => bytes(i ? ' ' : '', arg1(rng.pick(SEARCH_KEYS)))));
  let uid = false;
  let verb = name;
  if (name === 'UID') {
    uid = true;
    verb = rng.pick(['FETCH', 'STORE', 'SEARCH', 'COPY', 'SORT', 'THREAD', ...(scratch ? ['MOVE', 'EXPUNGE'] : []), 'NOOP']);
  }
  switch (verb) {
    case 'ID':
      parts.push(rng.chance(0.5) ? utf8('NIL') : bytes('(', astring(rng, 'name', p), sp, astring(rng, 'fuzz', p), ')'));
      break;
    case 'ENABLE':
      parts.push(arg1(rng.pick(['UTF8=ACCEPT', 'CONDSTORE', 'X'])));
      break;
    case 'SELECT':
    case 'EXAMINE':
    case 'CREATE':
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
      parts.push(verb === 'SELECT' || verb === 'EXAMINE' ? astring(rng, rng.pick(['INBOX', 'INBOX', 'Sent', 'Fuzz', mailboxName(rng, scratch)]), p / 2) : box());
      if (verb === 'SELECT' && rng.chance(0.1)) parts.push(utf8(' (CONDSTORE)'));
      break;
    case 'RENAME': {
      const from = mailboxName(rng, scratch);
      parts.push(astring(rng, from === 'INBOX' && !scratch ? 'Fuzz' : from, p / 2), sp, box());
      break;
    }
    case 'LIST':
    case 'LSUB':
      if (rng.chance(0.1)) parts.push(utf8('(SPECIAL-USE SUBSCRIBED) '));
      parts.push(astring(rng, rng.pick(['', '', 'Fuzz/', 'a']), p / 2), sp, astring(rng, listPattern(rng), p / 2));
      if (rng.chance(0.1)) parts.push(utf8(' RETURN (CHILDREN)'));
      break;
    case 'STATUS':
      parts.push(box(), utf8(` (${Array.from({ length: rng.int(0, 4) }, () => rng.pick(STATUS_ITEMS)).join(' ')})`));
      break;
    case 'APPEND': {
      const content = message(rng, scratch ? SCRATCH : rng.pick(['appended@fuzz.test', 'fuzzer']));
      const head = bytes(astring(rng, rng.pick(['INBOX', 'Fuzz', 'Sent', 'Nowhere']), p / 2), rng.chance(0.5) ? bytes(' ', flags()) : '', rng.chance(0.3) ? bytes(' "', arg1('17-Jul-1996 02:44:25 -0700'), '"') : '');
      // A synchronizing literal only when the head is one line: a line break in it would leave the server waiting for octets the case never sends.
      if (rng.chance(0.5) || head.includes(0x0a)) {
        parts.push(head, utf8(` {${content.length}+}\r\n`), content);
      } else {
        literal = { head: bytes(`${tag} APPEND `, head, ` {${content.length}}\r\n`), body: content, tail: utf8('\r\n') };
      }
      break;
    }
    case 'IDLE':
      then = utf8(rng.pick(['DONE\r\n', 'done\r\n', 'DONE\r\n', 'NOTDONE\r\n']));
      break;
    case 'CLOSE':
    case 'EXPUNGE':
      // Only scratch sessions set \\Deleted, so only scratch mail can go here.
      if (uid) parts.push(arg1(rng.pick(SETS)));
      break;
    case 'FETCH': {
      const items = Array.from({ length: rng.int(1, 4) }, () => rng.pick(FETCH_ITEMS));
      parts.push(arg1(rng.pick(SETS)), sp, items.length === 1 && rng.chance(0.5) ? arg1(items[0]!) : bytes('(', arg1(items.join(' ')), ')'));
      break;
    }
    case 'STORE':
      parts.push(arg1(rng.pick(SETS)), sp, arg1(rng.pick(['+FLAGS', '-FLAGS', 'FLAGS', '+FLAGS.SILENT', 'FLAGS.SILENT', 'LABELS'])), sp, flags());
      break;
    case 'COPY':
    case 'MOVE': {
      if (verb === 'MOVE' && !scratch) verb = 'COPY';
      // A copy into INBOX is new captured mail: repeated over `1:*` it doubles the store until eviction takes the seeds the checks watch.
      const target = box();
      parts.push(arg1(rng.pick(SETS)), sp, /^"?inbox"?$/i.test(target.toString('latin1')) ? astring(rng, 'Fuzz', p) : target);
      break;
    }
    case 'SEARCH':
      parts.push(search());
      break;
    case 'SORT':
      parts.push(utf8(`(${Array.from({ length: rng.int(0, 3) }, () => rng.pick(['ARRIVAL', 'DATE', 'SUBJECT', 'FROM', 'SIZE', 'REVERSE', 'CC', 'TO', 'X'])).join(' ')}) `), arg1('UTF-8'), sp, search());
      break;
    case 'THREAD':
      parts.push(arg1(rng.pick(['REFERENCES', 'ORDEREDSUBJECT', 'X'])), sp, arg1('UTF-8'), sp, search());
      break;
    case 'LOGIN':
      parts.push(astring(rng, 'fuzzer', p), sp, astring(rng, 'x', p));
      break;
    case 'FROB':
      parts.push(arg1('1'));
      break;
  }
  if (literal) return { tag, bytes: Buffer.alloc(0), literal };
  const keyword = rng.chance(p / 5) ? swapCase(verb) : verb;
  const line = bytes(`${tag} ${uid ? 'UID ' : ''}${keyword}`, parts.length > 0 ? ' ' : '', ...parts, '\r\n');
  return { tag, bytes: line, ...(then ? { then } : {}) };
}

/** LOGIN or AUTHENTICATE, in their several forms, for `user`. */
function loginCommand(rng: Rng, tag: string, user: string, p: number): Command {
  const plain = Buffer.from(`\0${user}\0x`).toString('base64');
  switch (rng.int(0, 3)) {
    case 0:
      return { tag, bytes: bytes(`${tag} LOGIN `, astring(rng, user, p / 3), ' ', astring(rng, 'secret', p), '\r\n') };
    case 1:
      return { tag, bytes: utf8(`${tag} AUTHENTICATE PLAIN ${plain}\r\n`) };
    case 2:
      return { tag, bytes: utf8(`${tag} AUTHENTICATE PLAIN\r\n`), then: bytes(Buffer.from(mutateArg(rng, plain, p / 2).filter((b) => b !== 0x0a)), '\r\n') };
    default:
      return { tag, bytes: bytes(`${tag} LOGIN {${Buffer.byteLength(user)}+}\r\n${user} {6+}\r\nsecret\r\n`) };
  }
}

/** Sends commands one by one or all at once, and checks each tagged completion came, once and in order, unless the session ended. */
async function runCommands(env: CaseEnv, conn: FuzzConn, model: ImapModel, commands: readonly Command[], pipelined: boolean): Promise<void> {
  const done = (tag: string): boolean => model.completions.has(tag) || model.bye || model.ended || model.problems.length > 0;
  const send = async (command: Command): Promise<boolean> => {
    if (command.literal) {
      const seen = model.continuations;
      const completions = model.completions.size;
      conn.write(command.literal.head);
      // The continuation, or a refusal (a tagged NO), before the literal goes out.
      if (!(await model.changes.until(() => model.continuations > seen || model.completions.size > completions || done(command.tag), env.replyMs))) {
        env.problem(`no continuation or refusal within ${env.replyMs} ms for the literal of ${show(command.literal.head)}`);
        return false;
      }
      if (model.completions.has(command.tag)) return true;
      conn.write(Buffer.concat([command.literal.body, command.literal.tail]));
      return true;
    }
    const seen = model.continuations;
    conn.write(command.bytes);
    if (command.then) {
      if (!pipelined) await model.changes.until(() => model.continuations > seen || done(command.tag), env.replyMs);
      conn.write(command.then);
    }
    return true;
  };
  if (pipelined && commands.every((c) => !c.literal)) {
    const all = Buffer.concat(commands.flatMap((c) => (c.then ? [c.bytes, c.then] : [c.bytes])));
    for (const piece of fragments(env.rng, all)) conn.write(piece);
  } else {
    for (const command of commands) {
      if (!(await send(command))) return;
      if (!(await model.changes.until(() => done(command.tag), env.replyMs))) break;
      if (model.bye || model.ended) return;
    }
  }
  for (const command of commands) {
    if (!(await model.changes.until(() => done(command.tag), env.replyMs))) {
      env.problem(`no completion for ${show(command.literal?.head ?? command.bytes, 160)} within ${env.replyMs} ms (sent ${conn.transcript()})`);
      return;
    }
    if (!model.completions.has(command.tag)) return;
  }
  const ours = model.order.filter((tag) => commands.some((c) => c.tag === tag));
  const sent = commands.map((c) => c.tag).filter((tag) => ours.includes(tag));
  if (ours.join() !== sent.join()) env.problem(`completions came in the order ${ours.join(' ')}, commands were sent as ${sent.join(' ')}`);
}

/** One IMAP case: a session of mutated commands, junk, over-long lines and literals, HTTP, bad runs or drops. */
export async function imapCase(env: CaseEnv): Promise<void> {
  const { rng, target } = env;
  const model = new ImapModel();
  const conn = await FuzzConn.connect(target.ports.imap);
  conn.observe(model);
  const kind = rng.weighted([
    [50, 'session'],
    [8, 'junk'],
    [7, 'long'],
    [9, 'literal'],
    [9, 'burst'],
    [4, 'http'],
    [4, 'bad-run'],
    [9, 'drop'],
  ] as const);
  env.kind(kind);
  let n = 0;
  const tag = (): string => `t${++n}`;
  const simple = (text: string | Buffer): Command => {
    const t = tag();
    return { tag: t, bytes: bytes(`${t} `, text, '\r\n') };
  };
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    if (!(await model.changes.until(() => model.greeted, env.replyMs))) {
      env.problem(`no greeting within ${env.replyMs} ms`);
      return;
    }
    const scratch = rng.chance(0.25);
    const user = scratch ? SCRATCH : rng.chance(0.85) ? rng.pick(READERS) : `u${rng.int(0, 40)}`;
    const p = kind === 'session' ? 0.15 : 0.35;
    const commands: Command[] = [];
    /** A command that must be refused with BAD or NO [TOOBIG], after which the session goes on. */
    let refused: string | null = null;
    let truncated: Buffer | null = null;
    switch (kind) {
      case 'session':
      case 'burst': {
        // A mutated scratch login could lose its "@" and see every message, the seeds too: scratch logins go out as they are.
        if (rng.chance(0.9)) commands.push(loginCommand(rng, tag(), user, scratch ? 0 : p));
        if (rng.chance(0.7)) commands.push(simple(`${rng.pick(['SELECT', 'SELECT', 'EXAMINE'])} INBOX`));
        const count = kind === 'burst' ? rng.int(15, 60) : rng.int(1, 10);
        for (let i = 0; i < count; i++) commands.push(someCommand(rng, tag(), scratch, p));
        if (rng.chance(0.7)) commands.push(simple('LOGOUT'));
        break;
      }
      case 'long': {
        if (rng.chance(0.6)) commands.push(loginCommand(rng, tag(), user, 0));
        const length = rng.pick([65_537, 70_000, 200_000, 1_100_000]);
        const command = simple(bytes(rng.pick(['NOOP ', 'LIST "" ', 'SEARCH ', 'LOGIN ']), Buffer.alloc(length, rng.pick(['a', '(', '1', ' ']))));
        commands.push(command);
        refused = command.tag;
        break;
      }
      case 'literal': {
        const loggedIn = rng.chance(0.6);
        if (loggedIn) commands.push(loginCommand(rng, tag(), user, 0));
        const verb = rng.pick(['LOGIN ', 'APPEND INBOX ', 'SEARCH TEXT ', 'X ']);
        // Over the limit: 8 KiB before login, 1 MiB after, --max-message-size (1 MiB in the test) for APPEND.
        const size = rng.pick(!loggedIn ? [8193, 100_000, 4294967296] : verb.startsWith('APPEND') ? [5_000_000, 30_000_000, 99_999_999_999] : [1_048_577, 5_000_000, 99_999_999_999]);
        const sync = rng.chance(0.5);
        const t = tag();
        const head = `${t} ${verb}{${size}${sync ? '' : '+'}}\r\n`;
        if (sync) {
          // Refused with NO [TOOBIG] and no continuation, so a correct client never sends the octets.
          commands.push({ tag: t, bytes: utf8(head) });
          refused = t;
        } else if (size <= 2_000_000) {
          // A non-synchronizing literal is read to its end and dropped, then BAD [TOOBIG].
          commands.push({ tag: t, bytes: bytes(head, Buffer.alloc(size, 'x'), '\r\n') });
          refused = t;
        } else {
          // Announced, never sent in full: the case ends by dropping the connection.
          truncated = bytes(head, Buffer.alloc(rng.int(0, 70_000), 'x'));
        }
        if (rng.chance(0.3)) {
          // Past the count of literals in one command, or nested past 100 levels.
          commands.push(simple(rng.chance(0.5) ? `SEARCH${' TEXT {1+}\r\nx'.repeat(1100)}` : `SEARCH ${'('.repeat(rng.int(101, 5000))}ALL${')'.repeat(rng.int(0, 5000))}`));
        }
        break;
      }
      case 'bad-run':
        for (let i = rng.int(20, 25); i > 0; i--) commands.push(simple(rng.pick(['FROB', 'FETCH', 'SELECT', '(', 'UID NOOP'])));
        break;
      default:
        break;
    }

    if (kind === 'http') {
      model.httpCase = true;
      if (rng.chance(0.5)) {
        conn.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${target.ports.imap}\r\nContent-Length: 60\r\n\r\na LOGIN ${SCRATCH} x\r\nb SELECT INBOX\r\nc STORE 1:* +FLAGS (\\Deleted)\r\nd EXPUNGE\r\n`);
      } else {
        conn.write(`t1 CAPABILITY\r\n${rng.pick(['Host: 127.0.0.1', 'Content-Type: text/plain', 'Origin: http://evil.test'])}\r\nt2 LOGIN fuzzer x\r\nt3 SELECT INBOX\r\n`);
        await model.changes.until(() => model.ended || model.completions.has('t3') || model.problems.length > 0, env.replyMs);
        if (model.completions.has('t2') || model.completions.has('t3')) model.problem('commands after an HTTP header line sent before login were run');
      }
      // README, Security: one error, then the connection closes.
      if (!(await model.changes.until(() => model.ended || model.problems.length > 0, env.replyMs))) model.problem(`HTTP sent to IMAP: the connection is still open after ${env.replyMs} ms`);
    } else if (kind === 'junk' || kind === 'drop') {
      if (rng.chance(0.5)) {
        const login = loginCommand(rng, tag(), user, 0);
        conn.write(Buffer.concat([login.bytes, login.then ?? Buffer.alloc(0)]));
      }
      for (let i = rng.int(1, 3); i > 0; i--) conn.write(junk(rng, rng.int(1, 600)));
      if (kind === 'drop') {
        if (rng.chance(0.5)) conn.write(rng.pick(['a APPEND INBOX {100+}\r\nFrom: x', 'b FETCH 1:* BODY[]\r\n', 'c IDLE\r\n', 'd AUTHENTICATE PLAIN\r\n', 'e LOGIN {5}\r\n']));
        await wait(rng.int(0, 20));
        conn.drop();
      } else {
        conn.write('\r\nzz LOGOUT\r\n');
        // Junk may leave a literal open that swallows the LOGOUT: then the server goes quiet instead.
        const until = Date.now() + env.replyMs;
        while (!model.ended && !model.completions.has('zz') && model.problems.length === 0 && (Date.now() - model.lastActivity < 300 || !model.greeted) && Date.now() < until) await wait(25);
        if (model.completions.has('zz') && !model.ended && !(await conn.waitEnded(env.replyMs))) model.problem(`LOGOUT completed but the connection stayed open for ${env.replyMs} ms`);
      }
    } else {
      const pipelined = kind === 'burst' || kind === 'bad-run' || (kind === 'session' && rng.chance(0.4));
      await runCommands(env, conn, model, commands, pipelined);
      if (kind === 'bad-run' && !(await model.changes.until(() => model.bye || model.problems.length > 0, env.replyMs))) {
        model.problem('twenty bad commands in a row did not end the session with BYE');
      }
      if (refused !== null) {
        const reply = model.completions.get(refused);
        if (reply && !/^\S+ (BAD|NO) \[TOOBIG\] /.test(reply.line)) model.problem(`an over-limit line or literal got ${show(reply.line)}, expected BAD or NO [TOOBIG]`);
        if (!model.bye && !model.ended && model.problems.length === 0) {
          // README: past a limit the command gets BAD or NO [TOOBIG] and the session goes on.
          conn.write('zz NOOP\r\n');
          await model.changes.until(() => model.completions.has('zz') || model.ended || model.problems.length > 0, env.replyMs);
          const noop = model.completions.get('zz');
          if (!noop) model.problem(`after a refused line or literal, NOOP got no reply within ${env.replyMs} ms`);
          else if (noop.line !== 'zz OK NOOP completed') model.problem(`after a refused line or literal, NOOP got ${show(noop.line)}`);
        }
      }
      if (truncated) {
        conn.write(truncated);
        await wait(rng.int(0, 30));
        conn.drop();
      } else if (model.bye && model.problems.length === 0 && !(await conn.waitEnded(env.replyMs))) {
        model.problem(`the server said BYE but kept the connection open for ${env.replyMs} ms`);
      }
    }
    for (const problem of model.problems) env.problem(`${problem} (sent ${conn.transcript()})`);
    const deleting = commands.filter((c) => /^t\d+ (UID )?(EXPUNGE|MOVE|CLOSE|RENAME)/i.test(c.bytes.toString('latin1', 0, 40))).length;
    if (deleting > 0) env.tally(`imap deleting commands${scratch ? ' (scratch)' : ''}`, deleting);
  } finally {
    conn.drop();
  }
}

/**
 * A client that lists many long folder names again and again and never
 * reads: each LIST answers ~100 KiB for 14 bytes sent.
 */
export async function imapPipeliner(port: number, user: string, count: number): Promise<FuzzConn> {
  const conn = await FuzzConn.connect(port);
  conn.neverRead();
  conn.write(`a LOGIN ${user} x\r\n${'l LIST "" *\r\n'.repeat(count)}`);
  return conn;
}

/** Makes `folders` folders with names of ~1000 bytes for `user`, for the pipeliner. */
export async function imapMakeFolders(port: number, user: string, folders: number): Promise<void> {
  const conn = await FuzzConn.connect(port);
  const model = new ImapModel();
  conn.observe(model);
  const lines = Array.from({ length: folders }, (_, i) => `c${i} CREATE "P${String(i).padStart(4, '0')}${'x'.repeat(990)}"\r\n`);
  conn.write(`a LOGIN ${user} x\r\n${lines.join('')}z LOGOUT\r\n`);
  await model.changes.until(() => model.ended, 30_000);
  conn.drop();
  if (!model.completions.has('z')) throw new Error(`creating ${folders} folders for ${user} did not finish: ${model.problems.join('; ')}`);
}

