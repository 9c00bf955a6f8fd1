import { createServer, type Socket } from 'node:net';
import type { Mailroom } from 'mailroom-catcher';
import { MailpitClient } from 'mailpit-api';
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { api, clearAll, mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/**
 * Mailpit's POST /api/v1/message/{id}/release (v1.30.5, server/apiv1/release.go) and Mailroom's
 * own POST /api/messages/:id/release, through --smtp-relay to a second Mailroom that captures what
 * the relay sent: envelope and bytes.
 */

interface Summary {
  id: string;
  envelope: { mailFrom: string; rcptTo: string[] };
}
interface Detail extends Summary {
  smtp: { helo: string | null; remoteAddress: string | null; authUser: string | null; tls: boolean };
}

const target = await useMailroom();
const source = await useMailroom({ smtpRelay: `127.0.0.1:${target.ports.smtp}` });
const mailpit = new MailpitClient(source.apiUrl);
/** A relay target that offers STARTTLS with a self-signed certificate and wants a login. */
const secured = await useMailroom({ tls: 'self-signed', smtpAuth: { relay: 'relay-secret' } });

/** Stores these exact bytes in a Mailroom over SMTP, as an app would send them. */
function sendRaw(mailroom: Mailroom, raw: string, envelope = { from: 'app@example.test', to: ['bob@example.test'] }): Promise<string> {
  return send(mailroom, { envelope, raw });
}

async function release(mailroom: Mailroom, id: string, body: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${mailroom.apiUrl}/api/v1/message/${encodeURIComponent(id)}/release`, { method: 'POST', body });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** Mailpit's httpError: 400, text/plain without a charset, the bare message. */
const refused = (text: string) => ({ status: 400, type: 'text/plain', text });

/** Every message the relay target captured, oldest first, with its bytes. */
async function captured(mailroom: Mailroom = target): Promise<(Detail & { raw: string })[]> {
  const list = await api<{ messages: Summary[] }>(mailroom, '/api/messages');
  return Promise.all(
    list.body.messages.reverse().map(async ({ id }) => {
      const detail = await api<Detail>(mailroom, `/api/messages/${id}`);
      const raw = await (await fetch(`${mailroom.apiUrl}/api/messages/${id}/raw`)).text();
      return { ...detail.body, raw };
    }),
  );
}

async function setRules(mailroom: Mailroom, rules: unknown[]): Promise<void> {
  const answer = await api(mailroom, '/api/smtp/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
  expect(answer.status).toBe(200);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Go's time.RFC1123Z, as Mailpit dates a release. */
const RFC1123Z = '[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}';
const NEW_ID = '<[0-9a-f-]{36}@mailroom>';

const MESSAGE = [
  'Return-Path: <app@example.test>',
  'From: Ann Example <ann@example.test>',
  'To: Bob <bob@example.test>',
  'Bcc: hidden@example.test,',
  ' secret@example.test',
  'Subject: Release me',
  'Date: Mon, 01 Jan 2024 10:00:00 +0000',
  'Message-ID: <original@example.test>',
  'bcc: again@example.test',
  '',
  'First line',
  '.a line starting with a dot',
  'Bcc: in the body stays',
  '',
].join('\r\n');

beforeEach(async () => {
  await clearAll(target);
  await setRules(target, []);
});

describe('Mailpit release', () => {
  it("mailpit-api's releaseMessage relays the message as Mailpit does: Bcc gone, dated now, a new Message-ID, From as the sender", async () => {
    const id = await sendRaw(source, MESSAGE, { from: 'app@example.test', to: ['bob@example.test', 'hidden@example.test', 'secret@example.test'] });
    expect(await mailpit.releaseMessage(id, { To: ['carol@example.net', 'Dan <dan@example.net>'] })).toBe('ok');
    const [relayed, ...more] = await captured();
    expect(more).toStrictEqual([]);
    expect(relayed!.envelope).toStrictEqual({ mailFrom: 'ann@example.test', rcptTo: ['carol@example.net', 'dan@example.net'] });
    const expected = MESSAGE.replace('Bcc: hidden@example.test,\r\n secret@example.test\r\n', '')
      .replace('bcc: again@example.test\r\n', '')
      .replace('Date: Mon, 01 Jan 2024 10:00:00 +0000', 'Date: @DATE@')
      .replace('Message-ID: <original@example.test>', 'Message-ID: @ID@');
    expect(relayed!.raw).toMatch(new RegExp(`^${escape(expected).replace('@DATE@', `(${RFC1123Z})`).replace('@ID@', NEW_ID)}$`));
    const date = new RegExp(`^Date: (${RFC1123Z})\r$`, 'm').exec(relayed!.raw)![1]!;
    expect(Math.abs(Date.parse(date) - Date.now())).toBeLessThan(60_000);
    // The source keeps the message as it was.
    expect(await (await fetch(`${source.apiUrl}/api/messages/${id}/raw`)).text()).toBe(MESSAGE);
  });

  it('sends from the Sender address when there is one, and adds Date and Message-ID on top when the message has none', async () => {
    const raw = 'From: Ann <ann@example.test>\r\nSender: "Mail Robot" <robot@example.test>\r\nTo: bob@example.test\r\nSubject: no date\r\n\r\nbody\r\n';
    const id = await sendRaw(source, raw);
    expect(await release(source, id, '{"to":["carol@example.net"]}')).toStrictEqual({ status: 200, type: 'text/plain', text: 'ok' });
    const [relayed] = await captured();
    expect(relayed!.envelope).toStrictEqual({ mailFrom: 'robot@example.test', rcptTo: ['carol@example.net'] });
    expect(relayed!.raw).toMatch(new RegExp(`^Message-ID: ${NEW_ID}\r\nDate: ${RFC1123Z}\r\n${escape(raw)}$`));
  });

  it("refuses bad requests with Mailpit's status and text, in Mailpit's order, before any relaying", async () => {
    const id = await sendRaw(source, MESSAGE);
    const noFrom = await sendRaw(source, 'To: bob@example.test\r\nSubject: no from\r\n\r\nbody\r\n');
    const cases: [string, string, { status: number; type: string; text: string }][] = [
      ['no-such-id', '{"To":["not an address"]}', { status: 404, type: 'text/plain', text: '404 page not found' }],
      ['latest', '{"To":["carol@example.net"]}', { status: 404, type: 'text/plain', text: '404 page not found' }],
      [id, '', refused('EOF')],
      [id, '{"To":', refused('unexpected EOF')],
      [id, '{"To":"carol@example.net"}', refused('json: cannot unmarshal string into Go struct field .To of type []string')],
      [id, '["carol@example.net"]', refused('json: cannot unmarshal array into Go value of type struct { To []string }')],
      [id, '{"To":["carol@example.net","not an address","also bad"]}', refused('Invalid email address: not an address')],
      [id, '{"To":["Carol <carol@example.net"]}', refused('Invalid email address: Carol <carol@example.net')],
      [id, '{"To":["carol@example.net, dan@example.net"]}', refused('Invalid email address: carol@example.net, dan@example.net')],
      [id, '{"To":[]}', refused('No valid addresses found')],
      [id, '{}', refused('No valid addresses found')],
      [id, 'null', refused('No valid addresses found')],
      // The recipients are checked before the message's From.
      [noFrom, '{"To":["bad"]}', refused('Invalid email address: bad')],
      [noFrom, '{"To":[]}', refused('No valid addresses found')],
      [noFrom, '{"To":["carol@example.net"]}', refused('Failed: unable to parse From header: mail: header not in message')],
    ];
    for (const [path, body, answer] of cases) expect(await release(source, path, body), `${path} ${body}`).toStrictEqual(answer);
    expect(await captured()).toStrictEqual([]);
    await expect(mailpit.releaseMessage(id, { To: [] })).rejects.toThrow(
      new Error(`Mailpit API Error: 400 Bad Request at POST ${source.apiUrl}/api/v1/message/${id}/release: No valid addresses found`),
    );
  });

  it("reads the message's header and From as Go's net/mail does, with its error texts", async () => {
    const to = '{"To":["carol@example.net"]}';
    const cases: [string, string][] = [
      ['From: undisclosed-recipients:;\r\n\r\nbody\r\n', 'No From header found'],
      ['From: Ann <ann@\r\n\r\nbody\r\n', 'Failed: unable to parse From header: mail: no domain in addr-spec'],
      ['From: Ann Example\r\n\r\nbody\r\n', 'Failed: unable to parse From header: mail: no angle-addr'],
      ['From: ann.example\r\n\r\nbody\r\n', "Failed: unable to parse From header: mail: missing '@' or angle-addr"],
      ['From: ann@example.test bob@example.test\r\n\r\nbody\r\n', 'Failed: unable to parse From header: mail: expected comma'],
      ['From: "Ann\r\n\r\nbody\r\n', 'Failed: unable to parse From header: mail: missing word in phrase: mail: unclosed quoted-string'],
      ['From: =?koi8-r?B?8NLJ18XU?= <ann@example.test>\r\n\r\nbody\r\n', 'Failed: unable to parse From header: mail: missing word in phrase: charset not supported: "koi8-r"'],
      ['From: Ann <ann@[300.1.1.1]>\r\n\r\nbody\r\n', 'Failed: unable to parse From header: mail: invalid IP address in domain-literal: "300.1.1.1"'],
      // An addr-spec that fails is read again as a display name, whose error is the one reported.
      ['From: ann@[300.1.1.1]\r\n\r\nbody\r\n', "Failed: unable to parse From header: mail: missing '@' or angle-addr"],
      ['From: ann@example.test\r\nBroken line\r\n\r\nbody\r\n', 'malformed header line: Broken line'],
      [' From: ann@example.test\r\n\r\nbody\r\n', 'malformed initial line:  From: ann@example.test'],
    ];
    for (const [raw, text] of cases) {
      const id = await sendRaw(source, raw);
      expect(await release(source, id, to), raw).toStrictEqual(refused(text));
    }
    // What Go takes: groups, comments, domain literals, obsolete empty list entries.
    const taken: [string, string][] = [
      ['From: Team: ann@example.test, bob@example.test;\r\n\r\nbody\r\n', 'ann@example.test'],
      ['From: , ann@example.test (Ann Example)\r\n\r\nbody\r\n', 'ann@example.test'],
      ['From: =?utf-8?q?Ann_=C3=9C?= <ann@[127.0.0.1]>\r\n\r\nbody\r\n', 'ann@[127.0.0.1]'],
    ];
    for (const [raw, sender] of taken) {
      await clearAll(target);
      const id = await sendRaw(source, raw);
      expect(await release(source, id, to), raw).toStrictEqual({ status: 200, type: 'text/plain', text: 'ok' });
      expect((await captured())[0]!.envelope.mailFrom, raw).toBe(sender);
    }
    // Go unquotes a quoted local part, so the MAIL FROM Mailpit sends for it is one relays refuse.
    const quoted = await sendRaw(source, 'From: "ann example"@example.test\r\n\r\nbody\r\n');
    expect(await release(source, quoted, to)).toStrictEqual(refused('SMTP error: error sending MAIL command: 501 5.1.7 Error: Bad sender address syntax'));
  });

  it("answers the relay's refusals as Mailpit words them", async () => {
    const id = await sendRaw(source, MESSAGE);
    await setRules(target, [{ on: 'rcpt', match: '*@refused.test', reply: { code: 550, text: 'No such user here' } }]);
    // One refused recipient of two: the other still gets it.
    expect(await release(source, id, '{"To":["x@refused.test","carol@example.net"]}')).toStrictEqual({ status: 200, type: 'text/plain', text: 'ok' });
    expect((await captured()).map((m) => m.envelope.rcptTo)).toStrictEqual([['carol@example.net']]);
    expect(await release(source, id, '{"To":["x@refused.test","y@refused.test"]}')).toStrictEqual(
      refused('SMTP error: error response to RCPT command for x@refused.test: 550 5.1.1 No such user here'),
    );
    await setRules(target, [{ on: 'mail', match: 'ann@example.test', reply: { code: 550, text: 'Sender blocked' } }]);
    expect(await release(source, id, '{"To":["carol@example.net"]}')).toStrictEqual(refused('SMTP error: error sending MAIL command: 550 5.1.1 Sender blocked'));
    await setRules(target, [{ on: 'data', match: '*', reply: { code: 554, text: 'Message refused' } }]);
    expect(await release(source, id, '{"To":["carol@example.net"]}')).toStrictEqual(refused('SMTP error: error closing connection: 554 5.6.0 Message refused'));
    expect(await captured()).toHaveLength(1);
  });

  it('without a relay, answers 400 "SMTP error: ..." as Mailpit does unconfigured, after its other checks', async () => {
    const alone = await mailroomForTest();
    const id = await sendRaw(alone, MESSAGE);
    expect(await release(alone, 'no-such-id', '{"To":["carol@example.net"]}')).toStrictEqual({ status: 404, type: 'text/plain', text: '404 page not found' });
    expect(await release(alone, id, '{"To":[]}')).toStrictEqual(refused('No valid addresses found'));
    expect(await release(alone, id, '{"To":["carol@example.net"]}')).toStrictEqual(refused('SMTP error: error connecting to :0: dial tcp :0: connect: connection refused'));
    const port = await closedPort();
    const unreachable = await mailroomForTest({ smtpRelay: `127.0.0.1:${port}` });
    const other = await sendRaw(unreachable, MESSAGE);
    expect(await release(unreachable, other, '{"To":["carol@example.net"]}')).toStrictEqual(
      refused(`SMTP error: error connecting to 127.0.0.1:${port}: dial tcp 127.0.0.1:${port}: connect: connection refused`),
    );
  });

  it("reports the relay in GET /api/v1/webui's MessageRelay", async () => {
    const relayOf = async (mailroom: Mailroom) => (await new MailpitClient(mailroom.apiUrl).getConfiguration()).MessageRelay;
    expect(await relayOf(source)).toStrictEqual({
      Enabled: true,
      SMTPServer: `127.0.0.1:${target.ports.smtp}`,
      ReturnPath: '',
      AllowedRecipients: '',
      BlockedRecipients: '',
      OverrideFrom: '',
      PreserveMessageIDs: false,
      RecipientAllowlist: '',
    });
    const configured = await mailroomForTest({ smtpRelay: 'smtp.example.test', smtpRelayReturnPath: 'bounces@example.test', smtpRelayPreserveMessageIds: true });
    expect(await relayOf(configured)).toMatchObject({ Enabled: true, SMTPServer: 'smtp.example.test:25', ReturnPath: 'bounces@example.test', PreserveMessageIDs: true });
    const response = await fetch(`${(await mailroomForTest()).apiUrl}/api/v1/webui`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(((await response.json()) as { MessageRelay: unknown }).MessageRelay).toStrictEqual({
      Enabled: false,
      SMTPServer: '',
      ReturnPath: '',
      AllowedRecipients: '',
      BlockedRecipients: '',
      OverrideFrom: '',
      PreserveMessageIDs: false,
      RecipientAllowlist: '',
    });
  });

  it('with a return path, sends from it and writes it as Return-Path; with IDs preserved, keeps Message-ID', async () => {
    const relay = await mailroomForTest({ smtpRelay: `127.0.0.1:${target.ports.smtp}`, smtpRelayReturnPath: 'bounces@example.test', smtpRelayPreserveMessageIds: true });
    const id = await sendRaw(relay, MESSAGE);
    expect(await release(relay, id, '{"To":["carol@example.net"]}')).toStrictEqual({ status: 200, type: 'text/plain', text: 'ok' });
    const [relayed] = await captured();
    expect(relayed!.envelope).toStrictEqual({ mailFrom: 'bounces@example.test', rcptTo: ['carol@example.net'] });
    expect(relayed!.raw.split('\r\n').slice(0, 7)).toStrictEqual([
      'Return-Path: <bounces@example.test>',
      'From: Ann Example <ann@example.test>',
      'To: Bob <bob@example.test>',
      'Subject: Release me',
      expect.stringMatching(new RegExp(`^Date: ${RFC1123Z}$`)),
      'Message-ID: <original@example.test>',
      '',
    ]);
  });
});

describe('relay login and TLS', () => {
  it('logs in over STARTTLS when the relay offers it, accepting a self-signed certificate with --smtp-relay-insecure', async () => {
    const relay = await mailroomForTest({ smtpRelay: `127.0.0.1:${secured.ports.smtp}`, smtpRelayUser: 'relay', smtpRelayPassword: 'relay-secret', smtpRelayInsecure: true });
    const id = await sendRaw(relay, MESSAGE);
    expect(await new MailpitClient(relay.apiUrl).releaseMessage(id, { To: ['carol@example.net'] })).toBe('ok');
    const [relayed] = await captured(secured);
    expect([relayed!.smtp.tls, relayed!.smtp.authUser, relayed!.envelope.rcptTo]).toStrictEqual([true, 'relay', ['carol@example.net']]);
  });

  it('fails as Mailpit words it: an unchecked certificate, a wrong password, TLS required but not offered, a login the relay does not offer', async () => {
    const checked = await mailroomForTest({ smtpRelay: `127.0.0.1:${secured.ports.smtp}`, smtpRelayUser: 'relay', smtpRelayPassword: 'relay-secret' });
    const wrong = await mailroomForTest({ smtpRelay: `127.0.0.1:${secured.ports.smtp}`, smtpRelayUser: 'relay', smtpRelayPassword: 'wrong', smtpRelayInsecure: true });
    const required = await mailroomForTest({ smtpRelay: `127.0.0.1:${target.ports.smtp}`, smtpRelayTls: 'starttls' });
    const plainLogin = await mailroomForTest({ smtpRelay: `127.0.0.1:${target.ports.smtp}`, smtpRelayTls: 'none', smtpRelayUser: 'relay', smtpRelayPassword: 'relay-secret' });
    const answer = async (mailroom: Mailroom) => release(mailroom, await sendRaw(mailroom, MESSAGE), '{"To":["carol@example.net"]}');
    expect(await answer(checked)).toStrictEqual(refused('SMTP error: error creating StartTLS config: tls: failed to verify certificate: x509: certificate signed by unknown authority'));
    expect(await answer(wrong)).toStrictEqual(refused('SMTP error: error response to AUTH command: 535 5.7.8 Authentication credentials invalid'));
    expect(await answer(required)).toStrictEqual(refused('SMTP error: error creating StartTLS config: 500 5.5.2 Error: command not recognized'));
    // Mailroom's sink offers AUTH to anyone, so a relay that offers none is a plain SMTP server.
    const noAuth = await mailroomForTest({ smtpRelay: `127.0.0.1:${await plainSmtpServer()}`, smtpRelayUser: 'relay', smtpRelayPassword: 'relay-secret' });
    expect(await answer(noAuth)).toStrictEqual(refused("SMTP error: error response to AUTH command: smtp: server doesn't support AUTH"));
    expect(await answer(plainLogin)).toStrictEqual({ status: 200, type: 'text/plain', text: 'ok' });
    expect((await captured(target))[0]!.smtp).toMatchObject({ tls: false, authUser: 'relay' });
  });
});

describe('POST /api/messages/:id/release', () => {
  const post = (mailroom: Mailroom, id: string, body: unknown) =>
    api(mailroom, `/api/messages/${id}/release`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('relays from the envelope sender to the given recipients and answers what the relay took', async () => {
    await setRules(target, [{ on: 'rcpt', match: '*@refused.test', reply: { code: 550, text: 'No such user here' } }]);
    const id = await sendRaw(source, MESSAGE, { from: 'app@example.test', to: ['bob@example.test', 'hidden@example.test'] });
    const answer = await post(source, id, { to: ['Carol <carol@example.net>', 'x@refused.test'] });
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual({
      accepted: ['carol@example.net'],
      rejected: [{ address: 'x@refused.test', reply: '550 5.1.1 No such user here' }],
      reply: expect.stringMatching(/^250 /),
    });
    const [relayed] = await captured();
    expect(relayed!.envelope).toStrictEqual({ mailFrom: 'app@example.test', rcptTo: ['carol@example.net'] });
    expect(relayed!.raw.split('\r\n\r\n')[0]).not.toMatch(/^bcc:/im);
    expect(relayed!.raw).toMatch(new RegExp(`^Message-ID: ${NEW_ID}\r$`, 'm'));
  });

  it('answers errors as the native API does', async () => {
    const id = await sendRaw(source, MESSAGE);
    expect(await post(source, 'no-such-id', { to: ['carol@example.net'] })).toMatchObject({ status: 404, body: { error: 'not_found', message: 'No message with id no-such-id' } });
    expect(await post(source, id, { to: ['carol@example.net', 'nope'] })).toMatchObject({ status: 400, body: { error: 'bad_request', message: 'to/1: expected one address, got "nope"' } });
    expect(await post(source, id, { to: [] })).toMatchObject({ status: 400, body: { error: 'bad_request', message: 'body/to must NOT have fewer than 1 items' } });
    expect(await post(source, id, { to: Array.from({ length: 101 }, (_, i) => `r${i}@example.net`) })).toMatchObject({
      status: 400,
      body: { error: 'bad_request', message: 'body/to must NOT have more than 100 items' },
    });
    await setRules(target, [{ on: 'rcpt', match: '*', reply: { code: 550, text: 'No such user here' } }]);
    expect(await post(source, id, { to: ['carol@example.net'] })).toStrictEqual({
      status: 502,
      body: { error: 'relay_failed', message: `SMTP relay 127.0.0.1:${target.ports.smtp} refused every recipient: 550 5.1.1 No such user here` },
      headers: expect.anything(),
    });
    const alone = await mailroomForTest();
    const other = await sendRaw(alone, MESSAGE);
    expect(await post(alone, other, { to: ['carol@example.net'] })).toMatchObject({
      status: 501,
      body: { error: 'relay_not_configured', message: 'No SMTP relay configured: start Mailroom with --smtp-relay HOST:PORT' },
    });
  });
});

/** An SMTP server that offers no AUTH, for the running test: EHLO answers with one line, everything else 250. */
async function plainSmtpServer(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.write('220 plain ESMTP\r\n');
    socket.on('data', (data) => {
      for (const line of data.toString('latin1').split('\r\n').filter((l) => l !== '')) {
        if (/^EHLO/i.test(line)) socket.write('250 plain\r\n');
        else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as { port: number }).port;
}
