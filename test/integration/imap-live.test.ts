import { beforeEach, describe, expect, it } from 'vitest';
import { Pop3Client } from '../helpers/dovecot/dovecot.js';
import { ImapWire } from '../helpers/imap-wire.js';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

async function session(user = 'tester'): Promise<ImapWire> {
  const wire = await ImapWire.open(mailroom.ports.imap);
  await wire.command('l', `LOGIN ${user} pw`);
  return wire;
}

const remove = (id: string): Promise<unknown> => api(mailroom, `/api/messages/${id}`, { method: 'DELETE' });

describe('IMAP sessions live with the store (RFC 3501 §7.4.1, RFC 2180)', () => {
  beforeEach(() => clearAll(mailroom));

  it('keeps sequence numbers right in an IDLE session and a busy one while mail arrives and is deleted', async () => {
    const ids = [await send(mailroom, { subject: 'm1' }), await send(mailroom, { subject: 'm2' }), await send(mailroom, { subject: 'm3' })];
    const idler = await session('live-idler');
    const worker = await session('live-idler');
    expect(await idler.command('s', 'SELECT INBOX')).toContain('* 3 EXISTS');
    expect(await worker.command('s', 'EXAMINE INBOX')).toContain('* 3 EXISTS');

    const from = idler.lines.length;
    idler.write('i IDLE\r\n');
    await idler.until(/^\+ /, from);
    ids.push(await send(mailroom, { subject: 'm4' }));
    // Stored before SMTP's 250, so this is the time from capture to EXISTS at most.
    const stored = Date.now();
    await idler.until(/^\* 4 EXISTS$/, from);
    expect(Date.now() - stored).toBeLessThan(100);
    // Message 2 goes: the IDLE session hears at once; the later numbers shift down.
    await remove(ids[1]!);
    await idler.until(/^\* 2 EXPUNGE$/, from);
    const afterExpunge = idler.lines.length;
    ids.push(await send(mailroom, { subject: 'm5' }));
    await idler.until(/^\* 4 EXISTS$/, afterExpunge);
    await remove(ids[3]!);
    await idler.until(/^\* 3 EXPUNGE$/, from);
    // SELECT made m1-m3 \Recent for this session (RFC 3501 §6.3.1), so RECENT counts them too.
    expect(idler.lines.slice(from)).toStrictEqual(['+ idling', '* 4 EXISTS', '* 4 RECENT', '* 2 EXPUNGE', '* 4 EXISTS', '* 4 RECENT', '* 3 EXPUNGE']);
    idler.write('DONE\r\n');
    await idler.until(/^i OK IDLE terminated$/, from);

    // The busy session was told nothing between commands; FETCH may not carry EXPUNGE, so numbers hold.
    // m2's bytes are gone with it: as Dovecot, NIL for it and OK [EXPUNGEISSUED] (RFC 2180 §4.1.3, RFC 5530).
    expect(worker.lines.at(-1)).toBe('s OK [READ-ONLY] Examine completed');
    const fetched = await worker.command('f', 'FETCH 1:3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(fetched.filter((l) => l.startsWith('* ') || l.startsWith('f ')).map((l) => l.replace(/ \{\d+\}$/, ''))).toStrictEqual([
      '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)]',
      '* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] NIL)',
      '* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)]',
      '* 4 EXISTS',
      '* 0 RECENT',
      'f OK [EXPUNGEISSUED] Some messages were already expunged',
    ]);
    expect(fetched.filter((l) => l.startsWith('Subject:'))).toStrictEqual(['Subject: m1', 'Subject: m3']);
    // m4 came and went before this session heard of it, so only m2's EXPUNGE is owed; NOOP may send it.
    expect(await worker.command('n', 'NOOP')).toStrictEqual(['* 2 EXPUNGE', 'n OK NOOP completed']);
    const after = await worker.command('g', 'FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(after.filter((l) => l.startsWith('Subject:'))).toStrictEqual(['Subject: m1', 'Subject: m3', 'Subject: m5']);
    await Promise.all([idler.close(), worker.close()]);
  });

  it('deletes from the store on EXPUNGE of \\Deleted messages, and the API sees it', async () => {
    const [a, b] = [await send(mailroom, { subject: 'keep' }), await send(mailroom, { subject: 'drop' })];
    const wire = await session('expunger');
    await wire.command('s', 'SELECT INBOX');
    expect(await wire.command('t', 'STORE 2 +FLAGS (\\Deleted)')).toStrictEqual(['* 2 FETCH (FLAGS (\\Deleted \\Recent))', 't OK STORE completed']);
    expect(await wire.command('e', 'EXPUNGE')).toStrictEqual(['* 2 EXPUNGE', 'e OK EXPUNGE completed']);
    expect((await api<{ messages: { id: string }[] }>(mailroom, '/api/messages')).body.messages.map((m) => m.id)).toStrictEqual([a]);
    expect(b).not.toBe(a);
    await wire.close();
  });

  it('keeps UIDVALIDITY and gives strictly ascending UIDs with a right UIDNEXT', async () => {
    const wire = await session('uids');
    const first = await wire.command('s', 'SELECT INBOX');
    const validity = first.find((l) => l.includes('UIDVALIDITY'));
    const next = Number(/UIDNEXT (\d+)/.exec(first.join('\n'))![1]);
    await send(mailroom, { subject: 'u1' });
    await send(mailroom, { subject: 'u2' });
    // The session learns of new mail at a command's end, so UID FETCH 1:* before that sees nothing new.
    expect(await wire.command('n', 'NOOP')).toStrictEqual(['* 2 EXISTS', '* 2 RECENT', 'n OK NOOP completed']);
    const fetched = await wire.command('f', 'UID FETCH 1:* (UID)');
    expect(fetched.filter((l) => l.startsWith('* ')).map((l) => Number(/UID (\d+)/.exec(l)![1]))).toStrictEqual([next, next + 1]);
    const again = await session('uids');
    const reselect = await again.command('s', 'SELECT INBOX');
    expect(reselect.find((l) => l.includes('UIDVALIDITY'))).toBe(validity);
    expect(reselect).toContain(`* OK [UIDNEXT ${next + 2}] Predicted next UID`);
    await Promise.all([wire.close(), again.close()]);
  });

  it('reports a message deleted over POP3 as EXPUNGE, and one marked read over IMAP as read for the API', async () => {
    const [keep, drop] = [await send(mailroom, { subject: 'pop keep' }), await send(mailroom, { subject: 'pop drop' })];
    const wire = await session('pop-watcher');
    await wire.command('s', 'SELECT INBOX');
    const pop = await Pop3Client.connect(mailroom.ports.pop3);
    for (const line of ['USER pop-user', 'PASS x', 'DELE 2']) expect(await pop.command(line)).toMatch(/^\+OK/);
    // Marked, not yet deleted (RFC 1939 §6): IMAP hears nothing until QUIT.
    expect(await wire.command('n', 'NOOP')).toStrictEqual(['n OK NOOP completed']);
    expect(await pop.command('QUIT')).toMatch(/^\+OK/);
    pop.close();
    expect(await wire.command('m', 'NOOP')).toStrictEqual(['* 2 EXPUNGE', 'm OK NOOP completed']);
    expect(await wire.command('f', 'FETCH 1 (BODY[TEXT])')).toContain('* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {6}');
    expect((await api<{ read: boolean }>(mailroom, `/api/messages/${keep}`)).body.read).toBe(true);
    expect((await api(mailroom, `/api/messages/${drop}`)).status).toBe(404);
    await wire.close();
  });
});
