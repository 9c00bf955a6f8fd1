import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandReader, type ReadError } from '../../server/src/imap/wire/command-reader.js';
import { DEFAULT_LIMITS, type WireLimits } from '../../server/src/imap/wire/limits.js';
import { parseCommand, ParseError } from '../../server/src/imap/wire/parser.js';
import { formatSet, parseSequenceSet, selectSorted } from '../../server/src/imap/wire/sequence-set.js';
import type { ImapValue } from '../../server/src/imap/wire/types.js';

const LIMITS: WireLimits = { ...DEFAULT_LIMITS, lineBytes: 100, literalBytes: 50, appendBytes: 200, literals: 3, depth: 5 };

function harness(limits = LIMITS): { reader: CommandReader; log: string[] } {
  const log: string[] = [];
  const reader = new CommandReader(limits, {
    command: (bytes) => void log.push(`command ${JSON.stringify(bytes.toString('latin1'))}`),
    line: (bytes) => void log.push(`line ${JSON.stringify(bytes.toString('latin1'))}`),
    continuation: () => void log.push('+'),
    error: (e: ReadError) => void log.push(`error ${e.tag} ${e.status} ${e.code} ${e.text}`),
  });
  return { reader, log };
}

/** Values as compact text, to compare parses in one line. */
function show(value: ImapValue): string {
  if (value.type === 'list') return `(${value.items.map(show).join(' ')})`;
  if (value.type === 'string') return `${value.literal ? 'L' : 'Q'}"${value.value.toString('latin1')}"`;
  const section = value.section ? `[${value.section.map(show).join(' ')}]` : '';
  const partial = value.partial ? `<${value.partial.start}.${value.partial.length}>` : '';
  return `${value.value}${section}${partial}`;
}

function parse(text: string): string {
  const command = parseCommand(Buffer.from(text, 'latin1'), LIMITS);
  return [command.tag, command.name, ...command.args.map(show)].join(' ');
}

describe('IMAP command reader', () => {
  it('frames pipelined commands, byte by byte as well as at once', () => {
    const input = 'a NOOP\r\nb LOGIN {3}\r\nbob {5+}\r\nse\r\nt\r\nc LOGOUT\r\n';
    const whole = harness();
    whole.reader.push(Buffer.from(input));
    const split = harness();
    for (const byte of Buffer.from(input)) split.reader.push(Buffer.from([byte]));
    const expected = ['command "a NOOP\\r\\n"', '+', 'command "b LOGIN {3}\\r\\nbob {5+}\\r\\nse\\r\\nt\\r\\n"', 'command "c LOGOUT\\r\\n"'];
    expect(whole.log).toStrictEqual(expected);
    expect(split.log).toStrictEqual(expected);
  });

  it('refuses a synchronizing literal over the limit without a continuation; the next command goes on', () => {
    const { reader, log } = harness();
    reader.push(Buffer.from('a LOGIN {2147483648}\r\nb NOOP\r\n'));
    expect(log).toStrictEqual(['error a NO TOOBIG Literal of 2147483648 octets is over the limit of 50', 'command "b NOOP\\r\\n"']);
  });

  it('reads and drops an over-large non-synchronizing literal, then answers BAD', () => {
    const { reader, log } = harness();
    reader.push(Buffer.from(`a LOGIN {60+}\r\n${'x'.repeat(60)} y\r\nb NOOP\r\n`));
    expect(log).toStrictEqual(['error a BAD TOOBIG Literal of 60 octets is over the limit of 50', 'command "b NOOP\\r\\n"']);
  });

  it('lets APPEND literals be larger, up to their own limit', () => {
    const { reader, log } = harness();
    reader.push(Buffer.from(`a APPEND INBOX {120+}\r\n${'m'.repeat(120)}\r\nb APPEND INBOX {201}\r\n`));
    expect(log[0]).toMatch(/^command "a APPEND INBOX \{120\+\}\\r\\nm{120}\\r\\n"$/);
    expect(log[1]).toBe('error b NO TOOBIG Literal of 201 octets is over the limit of 200');
  });

  it('skips a line over the limit to its end and answers with its tag', () => {
    const { reader, log } = harness();
    reader.push(Buffer.from(`a1 NOOP ${'z'.repeat(5000)}`));
    reader.push(Buffer.from(`${'z'.repeat(5000)}\r\na2 NOOP\r\n`));
    expect(log).toStrictEqual(['error a1 BAD TOOBIG Command line too long', 'command "a2 NOOP\\r\\n"']);
  });

  it('drops the non-synchronizing literal an over-long line announces, and the rest of its command, byte by byte too', () => {
    const input = `a1 RENAME ${'z'.repeat(300)} {12+}\r\n${'a'.repeat(12)} {3+}\r\nxyz\r\na2 NOOP\r\na3 X ${'q'.repeat(200)} {5}\r\na4 NOOP\r\n`;
    const expected = ['error a1 BAD TOOBIG Command line too long', 'command "a2 NOOP\\r\\n"', 'error a3 BAD TOOBIG Command line too long', 'command "a4 NOOP\\r\\n"'];
    const whole = harness();
    whole.reader.push(Buffer.from(input));
    expect(whole.log).toStrictEqual(expected);
    const split = harness();
    for (const byte of Buffer.from(input)) split.reader.push(Buffer.from([byte]));
    expect(split.log).toStrictEqual(expected);
  });

  it('counts literals', () => {
    const { reader, log } = harness();
    reader.push(Buffer.from('a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3 {1+}\r\n4\r\nb NOOP\r\n'));
    expect(log).toStrictEqual(['error a BAD TOOBIG Too many literals', 'command "b NOOP\\r\\n"']);
  });

  it('hands lines over in line mode and waits for an async command before reading on', async () => {
    const log: string[] = [];
    let release = (): void => undefined;
    const reader: CommandReader = new CommandReader(LIMITS, {
      command: (bytes) => {
        log.push(`command ${bytes.toString('latin1').trim()}`);
        if (bytes.includes('IDLE')) reader.setMode('line');
        if (bytes.includes('SLOW')) return new Promise<void>((resolve) => (release = resolve));
      },
      line: (bytes) => {
        log.push(`line ${bytes.toString('latin1')}`);
        reader.setMode('command');
      },
      continuation: () => undefined,
      error: () => undefined,
    });
    reader.push(Buffer.from('a SLOW\r\nb IDLE\r\nDONE\r\nc NOOP\r\n'));
    expect(log).toStrictEqual(['command a SLOW']);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toStrictEqual(['command a SLOW', 'command b IDLE', 'line DONE', 'command c NOOP']);
  });
});

describe('IMAP command parser', () => {
  it('reads atoms, quoted strings, literals, lists, flags and sequence sets', () => {
    expect(parse('A001 login "fred \\"x\\"" {3}\r\nabc\r\n')).toBe('A001 LOGIN Q"fred "x"" L"abc"');
    expect(parse('t STORE 1:*,4 +FLAGS.SILENT (\\Seen $Label)\r\n')).toBe('t STORE 1:*,4 +FLAGS.SILENT (\\Seen $Label)');
    expect(parse('t LIST "" [Gmail]/%\r\n')).toBe('t LIST Q"" [Gmail]/%');
    expect(parse('t SEARCH CHARSET UTF-8 OR (FROM x SEEN) NOT 2:4\r\n')).toBe('t SEARCH CHARSET UTF-8 OR (FROM x SEEN) NOT 2:4');
  });

  it('reads fetch sections and partial ranges', () => {
    expect(parse('t FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject "From")]<0.100> body[] BODY[1.2.MIME] UID)\r\n')).toBe(
      't FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject Q"From")]<0.100> body[] BODY[1.2.MIME] UID)',
    );
  });

  it.each([
    ['t LOGIN "open\r\n', 'Unterminated quoted string'],
    ['t LOGIN "a\\b"\r\n', 'Invalid escape in quoted string'],
    ['t FETCH 1 (UID\r\n', 'Unterminated list'],
    ['t FETCH 1 BODY[]<1>\r\n', 'Invalid partial range'],
    ['t FETCH 1 BODY[]<a.b>\r\n', 'Invalid partial range'],
    ['t LOGIN {5}\r\nab\r\n', 'Truncated literal'],
    ['t LOGIN {x}\r\n', 'Invalid literal'],
    ['t X ((((((a))))))\r\n', 'Lists nested deeper than 5'],
    ['t X a)\r\n', 'Unexpected character at 5'],
    ['t X  a\r\n', 'Unexpected character at 4'],
    ['t F%O\r\n', 'Invalid command name'],
  ])('refuses %j with its tag: %s', (text, message) => {
    expect(() => parseCommand(Buffer.from(text, 'latin1'), LIMITS)).toThrow(new ParseError('t', message));
    try {
      parseCommand(Buffer.from(text, 'latin1'), LIMITS);
    } catch (error) {
      expect((error as ParseError).tag).toBe('t');
    }
  });

  it('never throws anything but ParseError, and handles 10,000 nested parentheses', () => {
    expect(() => parseCommand(Buffer.from(`t X ${'('.repeat(10_000)}${')'.repeat(10_000)}\r\n`), DEFAULT_LIMITS)).toThrow(ParseError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          parseCommand(Buffer.from(bytes), LIMITS);
        } catch (error) {
          if (!(error instanceof ParseError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('sequence sets', () => {
  it('parses ranges either way round, with *', () => {
    expect(parseSequenceSet('1,3:5,9:7,*', 12)).toStrictEqual([[1, 1], [3, 5], [7, 9], [12, 12]]);
    expect(parseSequenceSet('5:*', 3)).toStrictEqual([[3, 5]]);
    for (const bad of ['', '0', '1:', ':2', '1,,2', 'a', '1:2:3', '4294967296', '01']) expect(parseSequenceSet(bad, 5)).toBeNull();
  });

  it('selects from sorted numbers without expanding ranges, and formats sets back', () => {
    expect(selectSorted([2, 4, 8, 4_000_000_000], parseSequenceSet('1:4294967295', 1)!)).toStrictEqual([0, 1, 2, 3]);
    expect(selectSorted([2, 4, 8], parseSequenceSet('3:8,2', 8)!)).toStrictEqual([0, 1, 2]);
    expect(formatSet([1, 2, 3, 5, 7, 8])).toBe('1:3,5,7:8');
  });
});
