import { describe, expect, it } from 'vitest';
import { ImapWire } from '../helpers/imap-wire.js';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/** Edge cases a review against RFC 3501 and RFC 2180 turned up, each pinned down. */
const mailroom = await useMailroom({ maxMessages: 20, imapAuth: { ann: 'pw', bob: 'pw', cat: 'pw', dan: 'pw', eve: 'pw', fay: 'pw', gus: 'pw', 'hal@example.test': 'pw', ida: 'pw' } });

async function session(user: string): Promise<ImapWire> {
  const wire = await ImapWire.open(mailroom.ports.imap);
  expect(await wire.command('l', `LOGIN ${user} pw`)).toHaveLength(1);
  return wire;
}

describe('IMAP edge cases', () => {
  it('sends non-ASCII mailbox names as literals of their octets, and quotes a mailbox named NIL', async () => {
    const wire = await session('ann');
    const name = Buffer.from('café', 'utf8');
    wire.write(Buffer.concat([Buffer.from(`c CREATE {${name.length}+}\r\n`), name, Buffer.from('\r\n')]));
    await wire.until(/^c OK/);
    await wire.command('n', 'CREATE NIL');
    const raw: Buffer[] = [];
    wire.socket.on('data', (chunk: string) => raw.push(Buffer.from(chunk, 'latin1')));
    await wire.command('l', 'LIST "" *');
    const text = Buffer.concat(raw).toString('latin1');
    expect(text).toContain(`* LIST (\\HasNoChildren) "/" {5}\r\n${name.toString('latin1')}\r\n`);
    expect(text).toContain('* LIST (\\HasNoChildren) "/" "NIL"\r\n');
    await wire.close();
  });

  it('never reports more RECENT than EXISTS when mail comes and goes unseen', async () => {
    const wire = await session('bob');
    expect(await wire.command('s', 'SELECT INBOX')).toContain('* 0 EXISTS');
    const id = await send(mailroom, { subject: 'gone at once' });
    await api(mailroom, `/api/messages/${id}`, { method: 'DELETE' });
    const kept = await send(mailroom, { subject: 'stays' });
    // The first message came and went between commands: it is neither counted nor expunged.
    expect(await wire.command('n', 'NOOP')).toStrictEqual(['* 1 EXISTS', '* 1 RECENT', 'n OK NOOP completed']);
    await api(mailroom, `/api/messages/${kept}`, { method: 'DELETE' });
    await wire.close();
  });

  it('reads at most 8 KiB of literals before login', async () => {
    const wire = await ImapWire.open(mailroom.ports.imap);
    expect(await wire.command('a', 'LOGIN {9000}')).toStrictEqual(['a NO [TOOBIG] Literal of 9000 octets is over the limit of 8192']);
    const from = wire.lines.length;
    const part = 'x'.repeat(5000);
    wire.write(`b LOGIN {5000+}\r\n${part} {5000+}\r\n${part}\r\n`);
    expect(await wire.until(/^b /, from)).toStrictEqual(['b BAD [TOOBIG] Literals of this command are over the limit of 8192 octets']);
    await wire.close();
  });

  it('walks a sequence set of repeated ranges once', async () => {
    const wire = await session('cat');
    await wire.command('c', 'CREATE Many');
    const message = 'Subject: m\r\n\r\nx\r\n';
    for (let i = 0; i < 5; i++) await wire.command('a', `APPEND Many {${message.length}+}\r\n${message}`);
    await wire.command('s', 'SELECT Many');
    const started = Date.now();
    const reply = await wire.command('t', `STORE ${Array(9999).fill('1:*').join(',')} +FLAGS.SILENT (x)`);
    expect(reply).toStrictEqual(['t OK STORE completed']);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await wire.command('f', 'FETCH 1:* (FLAGS)')).toHaveLength(6);
    await wire.close();
  });

  it('refuses APPEND and COPY past the folders’ share of the store limits with NO [OVERQUOTA]', async () => {
    const wire = await session('dan');
    const message = 'Subject: q\r\n\r\nx\r\n';
    const replies: string[] = [];
    for (let i = 0; i < 22; i++) replies.push((await wire.command('a', `APPEND Drafts {${message.length}+}\r\n${message}`)).at(-1)!);
    // Other tests' folders share the quota, so count what this one got in.
    const accepted = replies.filter((r) => r.startsWith('a OK')).length;
    expect(accepted).toBeLessThanOrEqual(20);
    expect(replies.at(-1)).toBe('a NO [OVERQUOTA] Folders hold at most 20 messages in all');
    await wire.command('s', 'SELECT Drafts');
    await wire.command('e', 'STORE 1:* +FLAGS.SILENT (\\Deleted)');
    await wire.command('x', 'EXPUNGE');
    expect((await wire.command('a', `APPEND Drafts {${message.length}+}\r\n${message}`)).at(-1)).toMatch(/^a OK \[APPENDUID/);
    await wire.command('s', 'SELECT Drafts');
    await wire.command('e', 'STORE 1:* +FLAGS.SILENT (\\Deleted)');
    await wire.command('x', 'EXPUNGE');
    await wire.close();
  });

  it('refuses to copy a message expunged elsewhere, whose bytes are gone, and answers STORE on it, with NO [EXPUNGEISSUED]', async () => {
    const id = await send(mailroom, { to: 'hal@example.test', subject: 'copy me' });
    const wire = await session('hal@example.test');
    await wire.command('s', 'SELECT INBOX');
    await api(mailroom, `/api/messages/${id}`, { method: 'DELETE' });
    expect(await wire.command('t', 'STORE 1 +FLAGS (\\Flagged)')).toStrictEqual(['t NO [EXPUNGEISSUED] The messages were expunged']);
    // As Dovecot: nothing is copied, and the EXPUNGE comes before the NO (RFC 2180 §4.4.1, RFC 5530).
    expect(await wire.command('c', 'COPY 1 Trash')).toStrictEqual(['* 1 EXPUNGE', 'c NO [EXPUNGEISSUED] Some of the requested messages no longer exist']);
    expect(await wire.command('f', 'FETCH 1:* FLAGS')).toStrictEqual(['f OK FETCH completed']);
    expect(await wire.command('s', 'STATUS Trash (MESSAGES)')).toStrictEqual(['* STATUS Trash (MESSAGES 0)', 's OK STATUS completed']);
    await wire.close();
  });

  it('keeps the selection when DELETE is refused, and keeps UIDNEXT while other users get mail', async () => {
    const wire = await session('hal@example.test');
    await wire.command('c', 'CREATE Parent/Child');
    await wire.command('s', 'SELECT Parent');
    expect(await wire.command('d', 'DELETE Parent')).toStrictEqual(['d NO [CANNOT] Mailbox has children, delete them first']);
    expect(await wire.command('f', 'FETCH 1:* FLAGS')).toStrictEqual(['f OK FETCH completed']);
    const before = await wire.command('u', 'STATUS INBOX (UIDNEXT)');
    await send(mailroom, { to: 'someone-else@example.test', subject: 'not for hal' });
    expect(await wire.command('v', 'STATUS INBOX (UIDNEXT)')).toStrictEqual(before.map((l) => l.replace(/^u /, 'v ')));
    await wire.close();
  });

  it('closes the connection after five failed logins', async () => {
    const wire = await ImapWire.open(mailroom.ports.imap);
    for (let i = 1; i <= 4; i++) expect(await wire.command(`a${i}`, 'LOGIN ida wrong')).toStrictEqual([`a${i} NO [AUTHENTICATIONFAILED] Invalid user name or password`]);
    const from = wire.lines.length;
    wire.write('a5 LOGIN ida wrong\r\n');
    expect(await wire.until(/^\* BYE/, from)).toStrictEqual(['a5 NO [AUTHENTICATIONFAILED] Invalid user name or password', '* BYE Too many failed logins']);
    await wire.close();
  });
});
