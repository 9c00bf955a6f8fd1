import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { api, mailroomForTest } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./python/imaplib_session.py', import.meta.url));

type Answer = [string, unknown];

async function imaplib(port: number, mode: string, user = 'tester', secret = 'anything'): Promise<Record<string, Answer>> {
  const { stdout } = await run('python3', [script, String(port), mode, user, secret]);
  return JSON.parse(stdout) as Record<string, Answer>;
}

const CAPABILITIES = 'IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE ESEARCH SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES';

describe("IMAP with Python's imaplib", () => {
  it('walks every RFC 3501 command and the extensions imaplib speaks', async () => {
    const mailroom = await mailroomForTest();
    const ids = [
      await send(mailroom, { from: 'alice@example.com', subject: 'first', text: 'one' }),
      await send(mailroom, { from: 'bob@example.com', subject: 'second', text: 'two' }),
      await send(mailroom, { from: 'alice@example.com', subject: 'Re: first', text: 'three' }),
    ];
    const raws = await Promise.all(ids.map(async (id) => (await api<string>(mailroom, `/api/messages/${id}/raw`)).body));
    const out = await imaplib(mailroom.ports.imap, 'walk');

    expect(out.welcome).toBe(`* OK [CAPABILITY ${CAPABILITIES} AUTH=PLAIN] Mailroom IMAP ready`);
    expect(out.login).toStrictEqual(['OK', [`[CAPABILITY ${CAPABILITIES}] Logged in`]]);
    expect(out.namespace).toStrictEqual(['OK', ['(("" "/")) NIL NIL']]);
    expect(out.list).toStrictEqual(['OK', ['(\\HasNoChildren) "/" INBOX', '(\\HasNoChildren \\Drafts) "/" Drafts', '(\\HasNoChildren \\Sent) "/" Sent', '(\\HasNoChildren \\Trash) "/" Trash']]);
    // CREATE makes the superior level too (RFC 3501 §6.3.3).
    expect(out.create).toStrictEqual(['OK', ['CREATE completed']]);
    expect(out.create_again).toStrictEqual(['NO', ['[ALREADYEXISTS] Mailbox already exists']]);
    expect(out.list_projects).toStrictEqual(['OK', ['(\\HasChildren) "/" Projects', '(\\HasNoChildren) "/" Projects/Alpha']]);
    expect(out.rename).toStrictEqual(['OK', ['RENAME completed']]);
    expect(out.lsub).toStrictEqual(['OK', ['() "/" Projects/Beta']]);
    expect(out.lsub_after).toStrictEqual(['OK', [null]]);
    expect(out.status).toStrictEqual(['OK', ['INBOX (MESSAGES 3 UNSEEN 3)']]);
    expect(out.select).toStrictEqual(['OK', ['3']]);
    expect(out.search_all).toStrictEqual(['OK', ['1 2 3']]);
    expect(out.search_subject).toStrictEqual(['OK', ['2']]);
    // alice sent the first and third: two UIDs, ascending.
    const found = ((out.uid_search![1] as string[])[0] ?? '').split(' ').map(Number);
    expect(found).toHaveLength(2);
    expect(found[0]).toBeLessThan(found[1]!);
    expect(out.fetch_flags).toStrictEqual(['OK', raws.map((raw, i) => `${i + 1} (FLAGS (\\Recent) RFC822.SIZE ${Buffer.byteLength(raw, 'latin1')})`)]);
    expect(out.fetch_header).toStrictEqual(['OK', [['1 (BODY[HEADER.FIELDS (SUBJECT)] {18}', 'Subject: first\r\n\r\n'], ')']]);
    // RFC822 is not a peek: \Seen is set and reported with it, and the API calls the message read.
    expect(out.fetch_body).toStrictEqual(['OK', [[`2 (FLAGS (\\Seen \\Recent) RFC822 {${Buffer.byteLength(raws[1]!, 'latin1')}}`, raws[1]], ')']]);
    expect(out.fetch_flags_after).toStrictEqual(['OK', ['2 (FLAGS (\\Seen \\Recent))']]);
    expect(out.store).toStrictEqual(['OK', ['1 (FLAGS (\\Flagged \\Recent $Important))']]);
    expect(out.store_silent).toStrictEqual(['OK', [null]]);
    expect(out.copy?.[0]).toBe('OK');
    expect((out.copy![1] as string[])[0]).toMatch(/^\[COPYUID \d+ 1:2 1:2\] Copy completed$/);
    expect(out.uid_move).toStrictEqual(['OK', [null]]);
    expect(out.sort).toStrictEqual(['OK', ['2 1']]);
    expect(out.thread).toStrictEqual(['OK', ['(1)(2)']]);
    expect(out.check).toStrictEqual(['OK', ['CHECK completed']]);
    expect(out.store_deleted).toStrictEqual(['OK', ['1 (FLAGS (\\Deleted \\Recent $Important))']]);
    // imaplib hands over every EXPUNGE since it last asked: UID MOVE's (3), then EXPUNGE's (1).
    expect(out.expunge).toStrictEqual(['OK', ['3', '1']]);
    expect((out.append![1] as string[])[0]).toMatch(/^\[APPENDUID \d+ 3\] Append completed$/);
    expect(out.examine).toStrictEqual(['OK', ['3']]);
    const copied = out.fetch_copied![1] as [string, string][];
    expect(copied.filter((x) => Array.isArray(x)).map(([head, body]) => `${head.replace(/INTERNALDATE "[^"]+"/, 'INTERNALDATE d')} ${body.trim()}`)).toStrictEqual([
      // No session has selected the folder, so EXAMINE shows its messages as \Recent without taking that away.
      '1 (UID 1 FLAGS (\\Recent $Important) INTERNALDATE d BODY[HEADER.FIELDS (SUBJECT)] {18} Subject: first',
      '2 (UID 2 FLAGS (\\Seen \\Recent) INTERNALDATE d BODY[HEADER.FIELDS (SUBJECT)] {19} Subject: second',
      '3 (UID 3 FLAGS (\\Seen \\Recent) INTERNALDATE d BODY[HEADER.FIELDS (SUBJECT)] {21} Subject: appended',
    ]);
    // APPEND kept the date the client gave (imaplib wrote it in local time with its zone).
    expect((copied[4] as unknown as string[])[0]).toContain(`INTERNALDATE "14-Nov-2023 22:13:20 +0000"`);
    expect(out.store_readonly).toStrictEqual(['NO', ['[READ-ONLY] Mailbox is read-only']]);
    expect(out.unselect).toStrictEqual(['OK', ['UNSELECT completed']]);
    expect(out.delete_nonempty_parent).toStrictEqual(['NO', ['[CANNOT] Mailbox has children, delete them first']]);
    expect(out.delete).toStrictEqual(['OK', ['DELETE completed']]);
    expect(out.select_trash).toStrictEqual(['OK', ['1']]);
    expect(out.close).toStrictEqual(['OK', ['CLOSE completed']]);
    expect(out.enable).toStrictEqual(['OK', ['ENABLE completed']]);
    expect(out.logout).toStrictEqual(['BYE', ['Mailroom IMAP server logging out']]);

    // What the session did is what the API shows: message 1 expunged, 3 moved to Trash, 2 read.
    const left = await api<{ messages: { id: string; read: boolean }[] }>(mailroom, '/api/messages');
    expect(left.body.messages.map((m) => [m.id, m.read])).toStrictEqual([[ids[1], true]]);
  });

  it('logs in with AUTHENTICATE PLAIN and checks --imap-auth', async () => {
    const mailroom = await mailroomForTest({ imapAuth: { alice: 's3cret' } });
    const good = await imaplib(mailroom.ports.imap, 'plain', 'alice', 's3cret');
    expect(good.authenticate).toStrictEqual(['OK', [`[CAPABILITY ${CAPABILITIES}] Logged in`]]);
    expect(good.select).toStrictEqual(['OK', ['0']]);
    const bad = await imaplib(mailroom.ports.imap, 'login', 'alice', 'wrong');
    expect(bad.login).toStrictEqual(['error', "b'[AUTHENTICATIONFAILED] Invalid user name or password'"]);
  });
});

describe('IMAP over TLS with imaplib', () => {
  it('upgrades with STARTTLS, then runs UID EXPUNGE and ID; serves implicit TLS on --imaps-port', async () => {
    const mailroom = await mailroomForTest({ tls: 'self-signed', imapsPort: 0 });
    const ids = [await send(mailroom, { subject: 'a' }), await send(mailroom, { subject: 'b' }), await send(mailroom, { subject: 'c' })];
    const out = await imaplib(mailroom.ports.imap, 'starttls');
    expect(out.capabilities).toContain('STARTTLS');
    expect(out.starttls).toStrictEqual(['OK', [null]]);
    // After the handshake the client asks again (RFC 3501 §6.2.1): STARTTLS is no longer offered.
    expect(out.capabilities_tls).not.toContain('STARTTLS');
    expect(out.capabilities_tls).toContain('AUTH=PLAIN');
    expect(out.uid_expunge?.[0]).toBe('OK');
    // Messages 1 and 2 go: the second is number 1 by the time its EXPUNGE is sent.
    expect(out.expunged).toStrictEqual(['1', '1']);
    expect(out.id).toStrictEqual(['OK', ['ID completed']]);
    expect(out.id_untagged).toStrictEqual([`("name" "Mailroom" "version" "0.1.0" "vendor" "Mailroom")`]);
    const left = await api<{ messages: { id: string }[] }>(mailroom, '/api/messages');
    expect(left.body.messages.map((m) => m.id)).toStrictEqual([ids[2]]);

    const secure = await imaplib(mailroom.ports.imaps!, 'imaps');
    expect(secure.welcome).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .* AUTH=PLAIN\] Mailroom IMAP ready$/);
    expect(secure.capabilities).not.toContain('STARTTLS');
    expect(secure.login?.[0]).toBe('OK');
  });
});
