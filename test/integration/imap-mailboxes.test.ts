import { describe, expect, it } from 'vitest';
import { ImapWire } from '../helpers/imap-wire.js';
import { api, mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

async function session(user: string): Promise<ImapWire> {
  const wire = await ImapWire.open(mailroom.ports.imap);
  await wire.command('l', `LOGIN ${user} pw`);
  return wire;
}

describe('IMAP mailboxes', () => {
  it('lists with * and % wildcards and a reference (RFC 3501 §6.3.8), and LSUB what is subscribed', async () => {
    const wire = await session('lister');
    for (const name of ['Work/2025/Q1', 'Work/2026', 'Home']) expect(await wire.command('c', `CREATE ${name}`)).toStrictEqual(['c OK CREATE completed']);
    expect(await wire.command('a', 'LIST "" %')).toStrictEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren) "/" Home',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
      '* LIST (\\HasChildren) "/" Work',
      'a OK LIST completed',
    ]);
    expect(await wire.command('b', 'LIST Work/ *')).toStrictEqual([
      '* LIST (\\HasChildren) "/" Work/2025',
      '* LIST (\\HasNoChildren) "/" Work/2025/Q1',
      '* LIST (\\HasNoChildren) "/" Work/2026',
      'b OK LIST completed',
    ]);
    expect(await wire.command('c', 'LIST "" inbox')).toStrictEqual(['* LIST (\\HasNoChildren) "/" INBOX', 'c OK LIST completed']);
    expect(await wire.command('d', 'LIST "" ""')).toStrictEqual(['* LIST (\\Noselect) "/" ""', 'd OK LIST completed']);
    expect(await wire.command('e', 'LIST (SPECIAL-USE) "" *')).toStrictEqual([
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
      'e OK LIST completed',
    ]);
    await wire.command('s', 'SUBSCRIBE Work/2026');
    await wire.command('s', 'SUBSCRIBE Gone');
    expect(await wire.command('f', 'LSUB "" *')).toStrictEqual([
      '* LSUB () "/" INBOX',
      '* LSUB () "/" Drafts',
      '* LSUB (\\Noselect) "/" Gone',
      '* LSUB () "/" Sent',
      '* LSUB () "/" Trash',
      '* LSUB () "/" Work/2026',
      'f OK LSUB completed',
    ]);
    // Work is not subscribed, Work/2026 is: % lists Work as \Noselect (RFC 3501 §6.3.9).
    expect(await wire.command('p', 'LSUB "" %')).toStrictEqual([
      '* LSUB () "/" INBOX',
      '* LSUB () "/" Drafts',
      '* LSUB (\\Noselect) "/" Gone',
      '* LSUB () "/" Sent',
      '* LSUB () "/" Trash',
      '* LSUB (\\Noselect) "/" Work',
      'p OK LSUB completed',
    ]);
    expect(await wire.command('g', 'STATUS Nowhere (MESSAGES)')).toStrictEqual(['g NO [NONEXISTENT] Mailbox does not exist: Nowhere']);
    expect(await wire.command('h', 'RENAME Work Job')).toStrictEqual(['h OK RENAME completed']);
    expect((await wire.command('i', 'LIST "" Job*')).slice(0, -1)).toStrictEqual([
      '* LIST (\\HasChildren) "/" Job',
      '* LIST (\\HasChildren) "/" Job/2025',
      '* LIST (\\HasNoChildren) "/" Job/2025/Q1',
      '* LIST (\\HasNoChildren) "/" Job/2026',
    ]);
    await wire.close();
  });

  it('captures an APPEND to INBOX like SMTP mail, with its flags as the read state', async () => {
    const wire = await session('appender');
    const message = 'From: app@example.com\r\nSubject: appended to INBOX\r\n\r\nhello\r\n';
    const reply = await wire.command('a', `APPEND INBOX (\\Seen) {${message.length}+}\r\n${message}`);
    expect(reply.at(-1)).toMatch(/^a OK \[APPENDUID \d+ \d+\] Append completed$/);
    const list = await api<{ messages: { id: string; subject: string; read: boolean }[] }>(mailroom, '/api/messages?query=subject:appended');
    expect(list.body.messages.map((m) => [m.subject, m.read])).toStrictEqual([['appended to INBOX', true]]);
    expect((await api<string>(mailroom, `/api/messages/${list.body.messages[0]!.id}/raw`)).body).toBe(message);
    await wire.close();
  });

  it('moves INBOX into a new folder on RENAME INBOX (RFC 3501 §6.3.5) and deselects a deleted folder', async () => {
    const id = await send(mailroom, { to: 'renamer@example.com', subject: 'to keep' });
    const wire = await session('renamer@example.com');
    const other = await session('renamer@example.com');
    expect(await wire.command('r', 'RENAME INBOX Kept')).toStrictEqual(['r OK RENAME completed']);
    expect((await api(mailroom, `/api/messages/${id}`)).status).toBe(404);
    expect(await wire.command('s', 'STATUS Kept (MESSAGES UNSEEN)')).toStrictEqual(['* STATUS Kept (MESSAGES 1 UNSEEN 1)', 's OK STATUS completed']);
    expect(await wire.command('t', 'STATUS INBOX (MESSAGES)')).toStrictEqual(['* STATUS INBOX (MESSAGES 0)', 't OK STATUS completed']);
    expect((await other.command('x', 'SELECT Kept')).at(-1)).toBe('x OK [READ-WRITE] Select completed');
    expect(await wire.command('d', 'DELETE Kept')).toStrictEqual(['d OK DELETE completed']);
    expect(await other.command('n', 'NOOP')).toStrictEqual(['* 1 EXPUNGE', 'n OK NOOP completed']);
    await Promise.all([wire.close(), other.close()]);
  });

  it('logs out a session idle past --imap-idle with BYE, idling or not', async () => {
    const quick = await mailroomForTest({ imapIdle: 1 });
    const wire = await ImapWire.open(quick.ports.imap);
    const lines = await wire.until(/^\* BYE/);
    expect(lines).toStrictEqual(['* BYE Autologout; idle for too long']);
    await wire.close();
    // IDLE counts as silence too: the timer is RFC 2177's "29 minutes" for a client to re-issue IDLE, plus one.
    const idler = await ImapWire.open(quick.ports.imap);
    await idler.command('l', 'LOGIN idler pw');
    const from = idler.lines.length;
    idler.write('i IDLE\r\n');
    expect(await idler.until(/^\* BYE/, from)).toStrictEqual(['+ idling', '* BYE Autologout; idle for too long']);
    await idler.close();
  });
});
