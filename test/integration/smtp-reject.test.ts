import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { beforeEach, describe, expect, it } from 'vitest';
import { whileProbing } from '../helpers/latency-probe.js';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

/** RULE_LIMITS.textLength: the longest match a rule may have. */
const RULE_MATCH_LIMIT = 512;
const START_RULES = ['rcpt:*@bounce.test=550 No such user here', 'mail:<>=553 No bounces please'];
const mailroom = await useMailroom({ smtpReject: START_RULES.join('\n') });
const transport = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true });

const bounce = { on: 'rcpt', match: '*@bounce.test', reply: { code: 550, text: 'No such user here' } };
const noBounces = { on: 'mail', match: '<>', reply: { code: 553, text: 'No bounces please' } };

type Envelope = { mailFrom: string; rcptTo: string[] };
type Page = { total: number; messages: { id: string; subject: string; envelope: Envelope; to: { address: string }[] }[] };

async function putRules(rules: unknown[]): Promise<{ status: number; body: unknown }> {
  return api(mailroom, '/api/smtp/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
}

async function stored(): Promise<Page> {
  return (await api<Page>(mailroom, '/api/messages')).body;
}

/** An SMTP session past the greeting and EHLO. */
async function session(): Promise<SmtpWire> {
  const wire = await SmtpWire.open(mailroom.ports.smtp, mailroom.host);
  await wire.reply();
  await wire.command('EHLO client.test');
  return wire;
}

/** Milliseconds a command takes to be answered, and the answer. */
async function timed(wire: SmtpWire, line: string): Promise<{ ms: number; line: string }> {
  const started = performance.now();
  const reply = await wire.command(line);
  return { ms: performance.now() - started, line: reply.text };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('SMTP reject rules', () => {
  beforeEach(async () => {
    await clearAll(mailroom);
    expect((await putRules([bounce, noBounces])).status).toBe(200);
  });

  it('starts with the rules given as options and lists them', async () => {
    const listed = await api(mailroom, '/api/smtp/rules');
    expect(listed).toMatchObject({ status: 200, body: { rules: [bounce, noBounces] } });
  });

  it('gives nodemailer the configured error when the only recipient is refused, and stores nothing', async () => {
    const error = await transport.sendMail({ from: 'app@example.com', to: 'nobody@bounce.test', subject: 's', text: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
      response: '550 5.1.1 No such user here',
      rejected: ['nobody@bounce.test'],
    });
    expect((await stored()).total).toBe(0);
  });

  it('delivers to the other two recipients when one of three gets 550', async () => {
    const info = await transport.sendMail({
      from: 'app@example.com',
      to: ['ann@example.com', 'Gone@bounce.test', 'bob@example.com'],
      subject: 'partial',
      text: 'hello',
    });
    expect(info.accepted).toStrictEqual(['ann@example.com', 'bob@example.com']);
    expect(info.rejected).toStrictEqual(['Gone@bounce.test']);
    expect(info.rejectedErrors).toMatchObject([{ recipient: 'Gone@bounce.test', responseCode: 550, response: '550 5.1.1 No such user here' }]);
    const page = await stored();
    expect(page.total).toBe(1);
    // The envelope lists the accepted recipients only; the To header is the message's own.
    expect(page.messages[0]!.envelope).toStrictEqual({ mailFrom: 'app@example.com', rcptTo: ['ann@example.com', 'bob@example.com'] });
    expect(page.messages[0]!.to.map((a) => a.address)).toStrictEqual(['ann@example.com', 'Gone@bounce.test', 'bob@example.com']);
    expect((await api<Page>(mailroom, '/api/messages?query=to:gone@bounce.test')).body.total).toBe(1);
    expect((await api<{ mailboxes: { address: string }[] }>(mailroom, '/api/mailboxes')).body.mailboxes.map((m) => m.address)).toStrictEqual([
      'ann@example.com',
      'bob@example.com',
    ]);
  });

  it('answers MAIL FROM and RCPT TO with the exact reply lines and lets the session go on', async () => {
    expect((await putRules([noBounces, { on: 'mail', match: '*@spam.test', reply: { code: 451, text: 'Try again later' } }, bounce])).status).toBe(200);
    const wire = await session();
    expect((await wire.command('MAIL FROM:<>')).lines).toStrictEqual(['553 5.1.3 No bounces please']);
    expect((await wire.command('MAIL FROM:<Someone@SPAM.test>')).lines).toStrictEqual(['451 4.3.0 Try again later']);
    expect((await wire.command('MAIL FROM:<app@example.com>')).lines).toStrictEqual(['250 2.1.0 Accepted']);
    expect((await wire.command('RCPT TO:<x@bounce.test>')).lines).toStrictEqual(['550 5.1.1 No such user here']);
    expect((await wire.command('RCPT TO:<ok@example.com>')).lines).toStrictEqual(['250 2.1.5 Accepted']);
    expect((await wire.command('DATA')).code).toBe(354);
    expect((await wire.command('Subject: wire\r\n\r\nbody\r\n.')).text).toMatch(/^250 2\.6\.0 Ok: queued as \S+$/);
    wire.close();
    const page = await stored();
    expect(page.messages.map((m) => m.envelope)).toStrictEqual([{ mailFrom: 'app@example.com', rcptTo: ['ok@example.com'] }]);
  });

  it('closes the connection after a 421 rule', async () => {
    expect((await putRules([{ on: 'rcpt', match: '*', reply: { code: 421, text: 'Shutting down' } }])).status).toBe(200);
    const wire = await session();
    await wire.command('MAIL FROM:<a@example.com>');
    expect((await wire.command('RCPT TO:<b@example.com>')).lines).toStrictEqual(['421 4.4.2 Shutting down']);
    await wire.closed;
  });

  it('refuses a message over a size threshold at the end of DATA, never storing it, and keeps smaller ones', async () => {
    expect((await putRules([{ on: 'size', match: '>2KB', reply: { code: 552, text: 'Message too big for this mailbox' } }])).status).toBe(200);
    const error = await transport.sendMail({ from: 'app@example.com', to: 'a@example.com', subject: 'big', text: 'x'.repeat(3000) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMESSAGE', command: 'DATA', responseCode: 552, response: '552 5.2.2 Message too big for this mailbox' });
    await transport.sendMail({ from: 'app@example.com', to: 'a@example.com', subject: 'small', text: 'x'.repeat(100) });
    expect((await stored()).messages.map((m) => m.subject)).toStrictEqual(['small']);
  });

  it('refuses a message for a matching recipient at the end of DATA with a data rule', async () => {
    expect((await putRules([{ on: 'data', match: '*@spam-trap.test', reply: { code: 554, text: 'Transaction failed: looks like spam' } }])).status).toBe(200);
    const wire = await session();
    await wire.command('MAIL FROM:<a@example.com>');
    expect((await wire.command('RCPT TO:<b@example.com>')).code).toBe(250);
    expect((await wire.command('RCPT TO:<trap@spam-trap.test>')).code).toBe(250);
    await wire.command('DATA');
    expect((await wire.command('Subject: spam\r\n\r\nbuy\r\n.')).lines).toStrictEqual(['554 5.6.0 Transaction failed: looks like spam']);
    // The transaction is over; the next one is accepted.
    await wire.command('MAIL FROM:<a@example.com>');
    await wire.command('RCPT TO:<b@example.com>');
    await wire.command('DATA');
    expect((await wire.command('Subject: fine\r\n\r\nhello\r\n.')).code).toBe(250);
    wire.close();
    expect((await stored()).messages.map((m) => m.subject)).toStrictEqual(['fine']);
  });

  it('holds a reply back for the delay of a delay rule, answering normally or with its reply', async () => {
    expect(
      (
        await putRules([
          { on: 'rcpt', match: '*@slow.test', delay: 300 },
          { on: 'mail', match: '*@late.test', delay: 200, reply: { code: 451, text: 'Try again later' } },
        ])
      ).status,
    ).toBe(200);
    const wire = await session();
    const late = await timed(wire, 'MAIL FROM:<a@late.test>');
    expect(late.line).toBe('451 4.3.0 Try again later');
    expect(late.ms).toBeGreaterThanOrEqual(195);
    const fast = await timed(wire, 'MAIL FROM:<a@example.com>');
    expect(fast.line).toBe('250 2.1.0 Accepted');
    expect(fast.ms).toBeLessThan(150);
    const slow = await timed(wire, 'RCPT TO:<b@slow.test>');
    expect(slow.line).toBe('250 2.1.5 Accepted');
    expect(slow.ms).toBeGreaterThanOrEqual(295);
    await wire.command('DATA');
    expect((await wire.command('Subject: slow\r\n\r\nx\r\n.')).code).toBe(250);
    wire.close();
    expect((await stored()).messages.map((m) => m.envelope)).toStrictEqual([{ mailFrom: 'a@example.com', rcptTo: ['b@slow.test'] }]);
  });

  it('stores a message whose 250 a delay rule holds back once the 250 is sent', async () => {
    expect((await putRules([{ on: 'data', match: '*', delay: 250 }])).status).toBe(200);
    const started = performance.now();
    const info = await transport.sendMail({ from: 'app@example.com', to: 'a@example.com', subject: 'late 250', text: 'x' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(245);
    const id = /queued as (\S+)/.exec(info.response)![1]!;
    expect((await stored()).messages.map((m) => m.id)).toStrictEqual([id]);
  });

  it('lets a client with a shorter socket timeout time out, and then stores nothing', async () => {
    expect((await putRules([{ on: 'data', match: '*', delay: 500 }])).status).toBe(200);
    const impatient = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true, socketTimeout: 150 });
    const started = performance.now();
    const error = await impatient.sendMail({ from: 'app@example.com', to: 'a@example.com', subject: 'timeout', text: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(450);
    // Past the delay: the reply was never sent, so the message was never stored.
    await sleep(500);
    expect((await stored()).total).toBe(0);
  });

  it('applies a rule with probability 1 every time and one with probability 0 never', async () => {
    expect(
      (
        await putRules([
          { on: 'rcpt', match: '*@never.test', reply: { code: 550, text: 'never' }, probability: 0 },
          { on: 'rcpt', match: '*@always.test', reply: { code: 450, text: 'Mailbox busy' }, probability: 1 },
        ])
      ).status,
    ).toBe(200);
    const wire = await session();
    await wire.command('MAIL FROM:<a@example.com>');
    for (let i = 0; i < 10; i++) {
      expect((await wire.command(`RCPT TO:<u${i}@never.test>`)).lines).toStrictEqual(['250 2.1.5 Accepted']);
      expect((await wire.command(`RCPT TO:<u${i}@always.test>`)).lines).toStrictEqual(['450 4.2.1 Mailbox busy']);
    }
    wire.close();
  });

  it('changes the rules at run time with PUT and lists them with GET', async () => {
    const rules = [
      { on: 'mail', match: '*@flaky.test', reply: { code: 451, text: 'Try again later' }, probability: 0.25 },
      { on: 'size', match: '>=1MiB', reply: { code: 552, text: 'Too big' } },
      { on: 'rcpt', match: '*@slow.test', delay: 1000 },
    ];
    const put = await putRules(rules);
    expect(put).toMatchObject({ status: 200, body: { rules } });
    expect((await api(mailroom, '/api/smtp/rules')).body).toStrictEqual({ rules });

    // The start rules are gone: a bounce.test recipient is accepted now.
    await transport.sendMail({ from: 'app@example.com', to: 'x@bounce.test', subject: 'now accepted', text: 'x' });
    expect((await putRules([{ on: 'rcpt', match: '*@example.com', reply: { code: 550, text: 'Closed' } }])).status).toBe(200);
    const error = await transport.sendMail({ from: 'app@example.com', to: 'x@example.com', text: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ responseCode: 550, response: '550 5.1.1 Closed' });

    expect((await putRules([])).body).toStrictEqual({ rules: [] });
    await transport.sendMail({ from: 'app@example.com', to: 'x@example.com', subject: 'no rules', text: 'x' });
    expect((await stored()).messages.map((m) => m.subject)).toStrictEqual(['no rules', 'now accepted']);
  });

  it.each([
    [{ rules: [{ on: 'rcpt', match: '*', reply: { code: 250, text: 'Ok' } }] }, 'body/rules/0/reply/code must be >= 400'],
    [{ rules: [{ on: 'helo', match: '*', delay: 5 }] }, 'body/rules/0/on'],
    [{ rules: [{ on: 'rcpt', match: '*', delay: 5, probabilty: 0.5 }] }, 'must NOT have additional properties'],
    [{ rules: [{ on: 'rcpt', match: '*', delay: 60001 }] }, 'body/rules/0/delay must be <= 60000'],
    [{ rules: [{ on: 'rcpt', match: '*', delay: 5, probability: 2 }] }, 'body/rules/0/probability must be <= 1'],
    [{ rules: [bounce, { on: 'rcpt', match: '*' }] }, 'body/rules/1: the rule has neither a reply nor a delay'],
    [{ rules: [{ on: 'rcpt', match: '<a@x.test>', delay: 5 }] }, 'body/rules/0: the address pattern "<a@x.test>" contains < or >'],
    [{ rules: [{ on: 'size', match: 'huge', delay: 5 }] }, 'body/rules/0: expected a size threshold such as >1MB, >=512KiB or 1048576, got "huge"'],
    [{ rules: [{ on: 'rcpt', match: '*', reply: { code: 550, text: 'x\r\n250 Ok' } }] }, 'body/rules/0: the reply text may hold only printable ASCII'],
    [{ rules: [{ on: 'rcpt', match: '*', reply: { code: 550, text: '5.7.1 Denied' } }] }, 'starts with an enhanced status code'],
    [{}, "body must have required property 'rules'"],
  ])('refuses %j with 400 and changes nothing', async (body, message) => {
    const response = await api<{ error: string; message: string }>(mailroom, '/api/smtp/rules', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(response.body).toStrictEqual({ error: 'bad_request', message: expect.stringContaining(message) });
    expect((await api(mailroom, '/api/smtp/rules')).body).toStrictEqual({ rules: [bounce, noBounces] });
  });

  it('documents the rule routes under the smtp tag', async () => {
    const spec = (await api<{ paths: Record<string, Record<string, { tags: string[] }>>; tags: { name: string }[] }>(mailroom, '/api/openapi.json')).body;
    expect(spec.tags.map((t) => t.name)).toContain('smtp');
    expect(Object.keys(spec.paths['/api/smtp/rules']!).sort()).toStrictEqual(['get', 'put']);
    expect(spec.paths['/api/smtp/rules']!.put!.tags).toStrictEqual(['smtp']);
  });
});

describe('SMTP reject rule globs', () => {
  beforeEach(async () => {
    await clearAll(mailroom);
  });

  /** smtp-server takes a path of up to 253 characters, so this is the longest local part with that domain. */
  const longest = (domain: string): string => '-'.repeat(253 - 1 - domain.length);

  /** A RCPT TO answered within 500 ms, health requests never waiting 150 ms meanwhile. */
  async function rcpt(wire: SmtpWire, address: string): Promise<string[]> {
    const { result, ms, maxLatency } = await whileProbing(mailroom, () => wire.command(`RCPT TO:<${address}>`));
    expect(ms).toBeLessThan(500);
    expect(maxLatency).toBeLessThan(150);
    return result.lines;
  }

  it('answers RCPT TO for the longest address at once under globs that make a backtracking matcher run for ever', async () => {
    // The security review's glob, and the longest glob a rule may have.
    const review = '*-*-*-*-*@*.test';
    const long = `${'*-'.repeat(120)}?${'*'.repeat(264)}@*.test`;
    expect(long).toHaveLength(RULE_MATCH_LIMIT);
    const put = await putRules([
      { on: 'rcpt', match: long, reply: { code: 551, text: 'Many dashes' } },
      { on: 'rcpt', match: review, reply: { code: 550, text: 'Some dashes' } },
    ]);
    expect(put.status).toBe(200);
    const wire = await session();
    expect((await wire.command('MAIL FROM:<app@example.com>')).lines).toStrictEqual(['250 2.1.0 Accepted']);
    expect(await rcpt(wire, `${longest('x.tesx')}@x.tesx`)).toStrictEqual(['250 2.1.5 Accepted']);
    expect(await rcpt(wire, `${longest('x.test')}@x.test`)).toStrictEqual(['551 5.1.6 Many dashes']);
    expect(await rcpt(wire, 'a-b-c-d-e@x.test')).toStrictEqual(['550 5.1.1 Some dashes']);
    expect(await rcpt(wire, `${'-'.repeat(120)}@x.test`)).toStrictEqual(['550 5.1.1 Some dashes']);
    expect((await wire.command(`RCPT TO:<-${longest('x.tesx')}@x.tesx>`)).lines).toStrictEqual(['501 5.1.3 Error: Bad recipient address syntax']);
    wire.close();
  });

  it('refuses a 10,000-character glob, as any over 512 characters', async () => {
    const response = await putRules([{ on: 'rcpt', match: `${'*-'.repeat(4992)}*@*.test`, reply: { code: 550, text: 'x' } }]);
    expect(response).toMatchObject({ status: 400, body: { error: 'bad_request', message: 'body/rules/0/match must NOT have more than 512 characters' } });
  });

  it('matches ? as one character, * as any run, case-insensitively, and <> as the null sender only', async () => {
    expect(
      (
        await putRules([
          { on: 'mail', match: '<>', reply: { code: 553, text: 'No bounces' } },
          { on: 'mail', match: 'ÄPP?@*', reply: { code: 451, text: 'Not now' } },
          { on: 'rcpt', match: 'user?@Example.TEST', reply: { code: 550, text: 'One' } },
          { on: 'rcpt', match: '*@*.invalid', reply: { code: 551, text: 'Invalid' } },
          { on: 'rcpt', match: '%@*', reply: { code: 552, text: 'Percent' } },
        ])
      ).status,
    ).toBe(200);
    const wire = await session();
    expect((await wire.command('MAIL FROM:<>')).lines).toStrictEqual(['553 5.1.3 No bounces']);
    expect((await wire.command('MAIL FROM:<äpp1@x.test>')).lines).toStrictEqual(['451 4.3.0 Not now']);
    expect((await wire.command('MAIL FROM:<äpp@x.test>')).lines).toStrictEqual(['250 2.1.0 Accepted']);
    expect((await wire.command('RSET')).code).toBe(250);
    expect((await wire.command('MAIL FROM:<äpp12@x.test>')).lines).toStrictEqual(['250 2.1.0 Accepted']);
    for (const [address, reply] of [
      ['USER1@example.test', '550 5.1.1 One'],
      ['user1@EXAMPLE.test', '550 5.1.1 One'],
      ['user@example.test', '250 2.1.5 Accepted'],
      ['user12@example.test', '250 2.1.5 Accepted'],
      ['a@b.invalid', '551 5.1.6 Invalid'],
      ['a@b.c.INVALID', '551 5.1.6 Invalid'],
      ['a@invalid', '250 2.1.5 Accepted'],
      ['%@x.test', '552 5.2.2 Percent'],
      ['a@x.test', '250 2.1.5 Accepted'],
    ]) {
      expect((await wire.command(`RCPT TO:<${address}>`)).lines, address).toStrictEqual([reply]);
    }
    wire.close();
  });
});

describe('--smtp-reject on the command line', () => {
  const bin = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));
  const run = promisify(execFile);

  it('exits with status 2 and one line naming the flag and the rule', async () => {
    const failed = await run('node', [bin, '--smtp-reject', 'rcpt:*@bounce.test=250 Fine'], { timeout: 5000 }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 2, stdout: '', stderr: 'mailroom: --smtp-reject: the reply code must be from 400 to 599, got 250 in "rcpt:*@bounce.test=250 Fine"\n' });
  });

  it('exits with status 2 for a bad rule in MAILROOM_SMTP_REJECT', async () => {
    const env = { ...process.env, MAILROOM_SMTP_REJECT: 'rcpt:*@a.test=550 A\nrcpt:<b@b.test>=550 B' };
    const failed = await run('node', [bin], { env, timeout: 5000 }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/^mailroom: MAILROOM_SMTP_REJECT: the address pattern "<b@b\.test>" contains < or >.* in "rcpt:<b@b\.test>=550 B"\n$/) });
  });
});
