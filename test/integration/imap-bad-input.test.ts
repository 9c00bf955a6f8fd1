import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ImapWire } from '../helpers/imap-wire.js';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom({ imapAuth: { alice: 'right' } });
await send(mailroom, { subject: 'present' });

async function loggedIn(): Promise<ImapWire> {
  const wire = await ImapWire.open(mailroom.ports.imap);
  expect(await wire.command('l', 'LOGIN alice right')).toHaveLength(1);
  return wire;
}

/** The session still works after whatever came before. */
async function stillWorks(wire: ImapWire): Promise<void> {
  expect(await wire.command('z', 'NOOP')).toStrictEqual(['z OK NOOP completed']);
}

describe('IMAP bad input', () => {
  it('answers failed logins with NO [AUTHENTICATIONFAILED] and commands before login with BAD', async () => {
    const wire = await ImapWire.open(mailroom.ports.imap);
    expect(await wire.command('a', 'LOGIN alice wrong')).toStrictEqual(['a NO [AUTHENTICATIONFAILED] Invalid user name or password']);
    expect(await wire.command('b', 'AUTHENTICATE PLAIN AGFsaWNlAHdyb25n')).toStrictEqual(['b NO [AUTHENTICATIONFAILED] Invalid user name or password']);
    expect(await wire.command('c', 'SELECT INBOX')).toStrictEqual(['c BAD SELECT is not allowed before logging in']);
    expect(await wire.command('d', 'FETCH 1 FLAGS')).toStrictEqual(['d BAD FETCH is not allowed before logging in']);
    expect(await wire.command('e', 'AUTHENTICATE PLAIN AGFsaWNlAHJpZ2h0')).toHaveLength(1);
    await stillWorks(wire);
    await wire.close();
  });

  it.each([
    ['LOGIN', 'LOGIN x', 'LOGIN is not allowed after logging in'],
    ['SELECT without a name', 'SELECT', 'SELECT and EXAMINE take a mailbox name'],
    ['SELECT of nothing', 'SELECT Nowhere', '[NONEXISTENT] Mailbox does not exist: Nowhere'],
    ['FETCH without items', 'FETCH 1', 'FETCH takes a sequence set and data items'],
    ['FETCH past the end', 'FETCH 9 FLAGS', 'Invalid sequence set'],
    ['FETCH of a zero', 'FETCH 0 FLAGS', 'Invalid sequence set'],
    ['FETCH of an unknown item', 'FETCH 1 (FLAGS BOGUS)', null],
    ['STORE of \\Recent', 'STORE 1 +FLAGS (\\Recent)', 'Invalid system flag \\Recent'],
    ['STORE of a bad item', 'STORE 1 LABELS (x)', 'STORE takes FLAGS, +FLAGS or -FLAGS, optionally .SILENT'],
    ['COPY to nowhere', 'COPY 1 Nowhere', '[TRYCREATE] Mailbox does not exist: Nowhere'],
    ['UID of a non-UID command', 'UID NOOP', 'Unknown command UID NOOP'],
    ['an unknown command', 'FROB 1', 'Unknown command FROB'],
    ['STATUS of an unknown item', 'STATUS INBOX (MESSAGES SIZE)', 'Unknown status item SIZE'],
    ['CREATE with a wildcard', 'CREATE a*b', '[CANNOT] Mailbox names cannot hold control characters, * or %'],
    ['DELETE INBOX', 'DELETE INBOX', '[CANNOT] INBOX cannot be deleted'],
    ['APPEND without a literal', 'APPEND INBOX (\\Seen) "hello"', 'APPEND needs the message as a literal'],
    ['APPEND with a bad date', 'APPEND INBOX "31-Foo-2024 00:00:00 +0000" {1+}\r\nx', 'Invalid date-time'],
    ['an unterminated quoted string', 'LIST "" "INBOX', 'Unterminated quoted string'],
    ['an unterminated list', 'FETCH 1 (FLAGS', 'Unterminated list'],
    ['10,000 nested parentheses', `SEARCH ${'('.repeat(10_000)}ALL${')'.repeat(10_000)}`, 'Lists nested deeper than 100'],
  ])('%s gets a tagged BAD or NO and the session goes on', async (_name, command, text) => {
    const wire = await loggedIn();
    await wire.command('s', 'SELECT INBOX');
    const reply = await wire.command('x', command);
    expect(reply).toHaveLength(1);
    expect(reply[0]).toMatch(/^x (BAD|NO) /);
    if (text !== null) expect(reply[0]!.replace(/^x (BAD|NO) /, '')).toBe(text);
    await stillWorks(wire);
    await wire.close();
  });

  it('refuses a literal claiming 2 GB without a continuation, and reads on', async () => {
    const wire = await loggedIn();
    expect(await wire.command('a', 'APPEND INBOX {2147483648}')).toStrictEqual(['a NO [TOOBIG] Literal of 2147483648 octets is over the limit of 26214400']);
    expect(await wire.command('b', 'LOGIN {2147483648}')).toStrictEqual(['b NO [TOOBIG] Literal of 2147483648 octets is over the limit of 1048576']);
    // A non-synchronizing one is sent anyway (RFC 7888 §4): it is read, dropped, and refused.
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const from = wire.lines.length;
    wire.write(Buffer.concat([Buffer.from(`c LOGIN {${big.length}+}\r\n`), big, Buffer.from(' x\r\n')]));
    expect(await wire.until(/^c /, from)).toStrictEqual(['c BAD [TOOBIG] Literal of 2097152 octets is over the limit of 1048576']);
    await stillWorks(wire);
    await wire.close();
  });

  it('skips a 1 MB line and answers it with BAD [TOOBIG]', async () => {
    const wire = await loggedIn();
    const from = wire.lines.length;
    wire.write(`big NOOP ${'x'.repeat(1024 * 1024)}\r\n`);
    expect(await wire.until(/^big /, from)).toStrictEqual(['big BAD [TOOBIG] Command line too long']);
    await stillWorks(wire);
    await wire.close();
  });

  it('closes with BYE after 20 bad commands in a row, and the server keeps serving', async () => {
    const wire = await loggedIn();
    const from = wire.lines.length;
    for (let i = 0; i < 30 && !wire.closed; i++) wire.write(Buffer.concat([randomBytes(64).map((b) => (b === 0x0a || b === 0x0d ? 0x20 : b)), Buffer.from('\r\n')]));
    const lines = await wire.until(/^\* BYE/, from);
    expect(lines.at(-1)).toBe('* BYE Too many invalid IMAP commands');
    expect(lines.filter((l) => / BAD /.test(l))).toHaveLength(20);
    const next = await loggedIn();
    expect((await next.command('s', 'EXAMINE INBOX')).at(-1)).toBe('s OK [READ-ONLY] Examine completed');
    await next.close();
  });

  it('survives a connection dropped in the middle of a literal', async () => {
    const wire = await loggedIn();
    wire.write('a APPEND INBOX {100+}\r\nFrom: half');
    await wire.close();
    const next = await loggedIn();
    await stillWorks(next);
    await next.close();
  });

  const SELECTED_ONLY = ['CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'FETCH', 'STORE', 'COPY', 'MOVE', 'SEARCH', 'SORT', 'THREAD'];
  const AUTHENTICATED = ['ENABLE', 'NAMESPACE', 'SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'IDLE', ...SELECTED_ONLY];
  const ANY = ['CAPABILITY', 'NOOP', 'LOGOUT', 'ID', 'STARTTLS', 'LOGIN', 'AUTHENTICATE'];
  const UID_FORMS = ['FETCH', 'STORE', 'COPY', 'MOVE', 'SEARCH', 'SORT', 'THREAD', 'EXPUNGE'].map((name) => `UID ${name}`);

  it('answers every command with wrong arguments with BAD or NO, changing nothing', async () => {
    const wire = await loggedIn();
    await wire.command('s', 'SELECT INBOX');
    // Parses as IMAP, but fits no command's arguments.
    const junk = '((x)) (y) "z" 1:2:3 \\Nope <5> extra';
    for (const name of [...ANY.filter((n) => n !== 'LOGOUT'), ...AUTHENTICATED, ...UID_FORMS]) {
      // A good command now and then keeps the session under the bad-command limit.
      await stillWorks(wire);
      const reply = await wire.command('x', `${name} ${junk}`);
      expect(reply, `${name}: ${reply.join(' | ')}`).toHaveLength(1);
      expect(reply[0], name).toMatch(/^x (BAD|NO) \S/);
    }
    expect(await wire.command('f', 'FETCH 1 (FLAGS)')).toStrictEqual(['* 1 FETCH (FLAGS ())', 'f OK FETCH completed']);
    await stillWorks(wire);
    await wire.close();
  });

  it('answers every command in the wrong state with BAD naming the state', async () => {
    const fresh = await ImapWire.open(mailroom.ports.imap);
    for (const name of [...AUTHENTICATED, ...UID_FORMS]) {
      await stillWorks(fresh);
      expect(await fresh.command('x', `${name} 1`), name).toStrictEqual([`x BAD ${name.replace('UID ', '')} is not allowed before logging in`]);
    }
    await fresh.close();
    const wire = await loggedIn();
    for (const name of [...SELECTED_ONLY, ...UID_FORMS]) {
      await stillWorks(wire);
      expect(await wire.command('x', `${name} 1`), name).toStrictEqual([`x BAD ${name.replace('UID ', '')} is not allowed without a selected mailbox`]);
    }
    await stillWorks(wire);
    for (const name of ['LOGIN', 'AUTHENTICATE', 'STARTTLS']) {
      expect(await wire.command('x', `${name} a b`), name).toStrictEqual([`x BAD ${name} is not allowed after logging in`]);
    }
    await stillWorks(wire);
    await wire.close();
  });
});
