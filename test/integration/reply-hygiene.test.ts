import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ImapWire } from '../helpers/imap-wire.js';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/**
 * What the protocol fuzzer (test/fuzz/) found in reply lines: client bytes
 * echoed where a line may not carry them, and lines after the last word.
 */
const mailroom = await useMailroom();
await send(mailroom, { to: 'hygiene@example.test', subject: 'one' });

describe('POP3', () => {
  it('shows control bytes of an echoed user name as ?', async () => {
    const socket = connect(mailroom.ports.pop3, '127.0.0.1');
    socket.setEncoding('latin1');
    let text = '';
    socket.on('data', (chunk: string) => (text += chunk));
    await once(socket, 'connect');
    socket.write('USER x\0y\rz\r\nQUIT\r\n');
    await once(socket, 'close');
    expect(text.split('\r\n').slice(1)).toStrictEqual(['+OK Hello x?y?z, send PASS', '+OK Mailroom POP3 signing off', '']);
  });
});

describe('IMAP', () => {
  it('refuses 8-bit bytes in an atom with BAD, echoing none', async () => {
    const wire = await ImapWire.open(mailroom.ports.imap);
    await wire.command('a', 'LOGIN hygiene@example.test pw');
    await wire.command('b', 'SELECT INBOX');
    wire.write(Buffer.from('c FETCH 1 (BODY.PEEK[HEADER.FIELDS (D\x80ATE)])\r\nd UID \xc3\xa9\r\n', 'latin1'));
    const lines = await wire.until(/^d /);
    expect(lines.slice(-2)).toStrictEqual(['c BAD 8-bit data in atom', 'd BAD 8-bit data in atom']);
    await wire.close();
  });

  it('refuses to subscribe a name with NUL, CR or LF, which LSUB could not send', async () => {
    const wire = await ImapWire.open(mailroom.ports.imap);
    await wire.command('a', 'LOGIN hygiene@example.test pw');
    expect(await wire.command('b', 'SUBSCRIBE {3+}\r\nx\0y')).toStrictEqual(['b NO [CANNOT] Mailbox names cannot hold control characters, * or %']);
    expect(await wire.command('c', 'LSUB "" *')).toStrictEqual(['* LSUB () "/" INBOX', '* LSUB () "/" Drafts', '* LSUB () "/" Sent', '* LSUB () "/" Trash', 'c OK LSUB completed']);
    await wire.close();
  });

  it('sends nothing between BYE and the tagged OK of LOGOUT, though changes are pending', async () => {
    const watcher = await ImapWire.open(mailroom.ports.imap);
    await watcher.command('a', 'LOGIN hygiene@example.test pw');
    await watcher.command('b', 'SELECT INBOX');
    const other = await ImapWire.open(mailroom.ports.imap);
    await other.command('a', 'LOGIN hygiene@example.test pw');
    await other.command('b', 'SELECT INBOX');
    await other.command('c', 'STORE 1 +FLAGS (\\Flagged)');
    expect(await watcher.command('z', 'LOGOUT')).toStrictEqual(['* BYE Mailroom IMAP server logging out', 'z OK LOGOUT completed']);
    await other.close();
  });
});
