import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Mailroom } from 'mailroom-catcher';
import { MailpitClient } from 'mailpit-api';
import nodemailer from 'nodemailer';
import { beforeEach, describe, expect, it } from 'vitest';
import { api, clearAll, useMailroom } from '../helpers/mailroom.js';
import { SmtpWire } from '../helpers/smtp-wire.js';

/**
 * Mailpit's chaos triggers (PUT /api/v1/chaos, docs/compat-reference.md §1.8) and MailHog's Jim
 * (/api/v2/jim, §3.7) as SMTP rules: their exact HTTP answers, to mailpit-api and to plain HTTP
 * (the mailhog client has no Jim), what nodemailer and Python's smtplib then see over SMTP, and
 * how their rules sit beside the user's in GET/PUT /api/smtp/rules.
 */

const run = promisify(execFile);
const pythonScript = fileURLToPath(new URL('./python/smtplib_chaos.py', import.meta.url));

const USER_RULE = { on: 'rcpt', match: '*@bounce.test', reply: { code: 550, text: 'No such user here' } };
const mailroom = await useMailroom({ smtpReject: 'rcpt:*@bounce.test=550 No such user here' });
const mailpit = new MailpitClient(mailroom.apiUrl);
const transport = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true });
const loggingIn = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true, auth: { user: 'ann', pass: 'secret' } });

const DEFAULT_TRIGGERS = {
  Sender: { ErrorCode: 451, Probability: 0 },
  Recipient: { ErrorCode: 451, Probability: 0 },
  Authentication: { ErrorCode: 535, Probability: 0 },
};
const DEFAULT_TRIGGERS_JSON = '{"Sender":{"ErrorCode":451,"Probability":0},"Recipient":{"ErrorCode":451,"Probability":0},"Authentication":{"ErrorCode":535,"Probability":0}}\n';
const DEFAULT_JIM_JSON =
  '{"DisconnectChance":0.005,"AcceptChance":0.99,"LinkSpeedAffect":0.1,"LinkSpeedMin":1024,"LinkSpeedMax":10240,"RejectSenderChance":0.05,"RejectRecipientChance":0.05,"RejectAuthChance":0.05}';

interface Answer {
  status: number;
  type: string | null;
  text: string;
}

async function request(method: string, path: string, body?: string): Promise<Answer> {
  const response = await fetch(`${mailroom.apiUrl}${path}`, { method, body });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

const answer = (status: number, type: string | null, text: string): Answer => ({ status, type, text });

async function smtpRules(): Promise<unknown[]> {
  const listed = await api<{ rules: unknown[] }>(mailroom, '/api/smtp/rules');
  expect(listed.status).toBe(200);
  return listed.body.rules;
}

async function putUserRules(rules: unknown[]): Promise<{ status: number; body: unknown }> {
  return api(mailroom, '/api/smtp/rules', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules }) });
}

async function storedSubjects(): Promise<string[]> {
  return (await api<{ messages: { subject: string }[] }>(mailroom, '/api/messages')).body.messages.map((m) => m.subject);
}

/** The steps of one smtplib conversation: [step, code, text], or ["disconnected", message] last. */
async function smtplib(target: Mailroom, mode: 'login' | 'nologin'): Promise<unknown[]> {
  const { stdout } = await run('python3', [pythonScript, String(target.ports.smtp), mode]);
  return JSON.parse(stdout) as unknown[];
}

/** Whether the server's next reply or its hang-up comes first; a reply already received wins. */
async function nextFrom(wire: SmtpWire): Promise<'reply' | 'closed'> {
  return Promise.race([wire.reply().then(() => 'reply' as const), wire.closed.then(() => 'closed' as const)]);
}

const mail = (subject: string, to = 'user@example.com') => ({ from: 'app@example.com', to, subject, text: 'hello' });

async function resetAll(): Promise<void> {
  await clearAll(mailroom);
  await mailpit.setChaosTriggers();
  await request('DELETE', '/api/v2/jim');
  expect((await putUserRules([USER_RULE])).status).toBe(200);
}

describe("Mailpit's chaos triggers", () => {
  beforeEach(resetAll);

  it('answers the default triggers, exactly as Mailpit writes them, and reports chaos enabled', async () => {
    expect(await mailpit.getChaosTriggers()).toStrictEqual(DEFAULT_TRIGGERS);
    expect(await request('GET', '/api/v1/chaos')).toStrictEqual(answer(200, 'application/json', DEFAULT_TRIGGERS_JSON));
    expect((await mailpit.getConfiguration()).ChaosEnabled).toBe(true);
    expect(await smtpRules()).toStrictEqual([USER_RULE]);
  });

  it('sets triggers with setChaosTriggers, resetting those left out, an ErrorCode of 0 meaning the default', async () => {
    const set = await mailpit.setChaosTriggers({ Sender: { ErrorCode: 452, Probability: 100 }, Authentication: { ErrorCode: 0, Probability: 7 } });
    const expected = { ...DEFAULT_TRIGGERS, Sender: { ErrorCode: 452, Probability: 100 }, Authentication: { ErrorCode: 535, Probability: 7 } };
    expect(set).toStrictEqual(expected);
    expect(await mailpit.getChaosTriggers()).toStrictEqual(expected);
    expect(await smtpRules()).toStrictEqual([
      { on: 'mail', match: '*', reply: { code: 452, text: 'Chaos sender error' }, probability: 1, origin: 'mailpit-chaos' },
      { on: 'auth', match: '*', reply: { code: 535, text: 'Chaos authentication error' }, probability: 0.07, origin: 'mailpit-chaos' },
      USER_RULE,
    ]);

    // Sender and Authentication are left out, so they go back to their defaults.
    const next = await request('PUT', '/api/v1/chaos', '{"Recipient":{"ErrorCode":421,"Probability":0}}');
    expect(next).toStrictEqual(
      answer(200, 'application/json', '{"Sender":{"ErrorCode":451,"Probability":0},"Recipient":{"ErrorCode":421,"Probability":0},"Authentication":{"ErrorCode":535,"Probability":0}}\n'),
    );
    // A trigger at probability 0 keeps its code in a rule that never fires.
    expect(await smtpRules()).toStrictEqual([
      { on: 'rcpt', match: '*', reply: { code: 421, text: 'Chaos recipient error' }, probability: 0, origin: 'mailpit-chaos' },
      USER_RULE,
    ]);
    expect(await mailpit.setChaosTriggers()).toStrictEqual(DEFAULT_TRIGGERS);
    expect(await smtpRules()).toStrictEqual([USER_RULE]);
  });

  it('reads the body as Go does: keys in any case, unknown keys and trailing bytes ignored, null as zero', async () => {
    const put = await request('PUT', '/api/v1/chaos', '{"sender":{"errorcode":550,"PROBABILITY":50},"Other":[1,{"x":2}],"Recipient":null} trailing');
    expect(put.status).toBe(200);
    expect(JSON.parse(put.text)).toStrictEqual({ ...DEFAULT_TRIGGERS, Sender: { ErrorCode: 550, Probability: 50 } });
    expect(await request('PUT', '/api/v1/chaos', 'null')).toStrictEqual(answer(200, 'application/json', DEFAULT_TRIGGERS_JSON));
  });

  it.each([
    ['{"Sender":{"ErrorCode":399,"Probability":5}}', 'error code must be between 400 and 599'],
    ['{"Recipient":{"ErrorCode":600}}', 'error code must be between 400 and 599'],
    ['{"Authentication":{"ErrorCode":-1}}', 'error code must be between 400 and 599'],
    ['{"Authentication":{"Probability":101}}', 'probability must be between 0 and 100'],
    ['{"Sender":{"Probability":-1}}', 'probability must be between 0 and 100'],
    // Mailroom checks every trigger before changing any; Mailpit would have kept the Sender.
    ['{"Sender":{"Probability":50},"Recipient":{"ErrorCode":700}}', 'error code must be between 400 and 599'],
    ['', 'EOF'],
    ['{"Sender":', 'unexpected EOF'],
    ['{"Sender" 1}', "invalid character '1' after object key"],
    ['[]', 'json: cannot unmarshal array into Go value of type chaos.Triggers'],
    ['{"Sender":5}', 'json: cannot unmarshal number into Go struct field Triggers.Sender of type chaos.Trigger'],
    ['{"Sender":{"Probability":5.5}}', 'json: cannot unmarshal number 5.5 into Go struct field Trigger.Sender.Probability of type int'],
    ['{"recipient":{"errorcode":"451"}}', 'json: cannot unmarshal string into Go struct field Trigger.Recipient.ErrorCode of type int'],
    ['{"Sender":{"ErrorCode":1e3},"Recipient":true}', 'json: cannot unmarshal number 1e3 into Go struct field Trigger.Sender.ErrorCode of type int'],
  ])('refuses %j with 400 and Mailpit’s text %j, changing nothing', async (body, text) => {
    await mailpit.setChaosTriggers({ Sender: { ErrorCode: 451, Probability: 10 } });
    const before = await smtpRules();
    expect(await request('PUT', '/api/v1/chaos', body)).toStrictEqual(answer(400, 'text/plain', text));
    expect(await smtpRules()).toStrictEqual(before);
  });

  it('rejects through mailpit-api with Mailpit’s error text', async () => {
    await expect(mailpit.setChaosTriggers({ Sender: { ErrorCode: 250, Probability: 5 } })).rejects.toThrow(
      `Mailpit API Error: 400 Bad Request at PUT ${mailroom.apiUrl}/api/v1/chaos: error code must be between 400 and 599`,
    );
  });

  it('refuses MAIL FROM, RCPT TO and AUTH at probability 100 with the replies nodemailer then reports', async () => {
    await mailpit.setChaosTriggers({ Sender: { ErrorCode: 451, Probability: 100 } });
    await expect(transport.sendMail(mail('sender'))).rejects.toMatchObject({
      code: 'EENVELOPE',
      command: 'MAIL FROM',
      responseCode: 451,
      response: '451 4.3.0 Chaos sender error',
    });

    await mailpit.setChaosTriggers({ Recipient: { ErrorCode: 550, Probability: 100 } });
    await expect(transport.sendMail(mail('recipient'))).rejects.toMatchObject({
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
      response: '550 5.1.1 Chaos recipient error',
      rejected: ['user@example.com'],
    });

    await mailpit.setChaosTriggers({ Authentication: { ErrorCode: 0, Probability: 100 } });
    await expect(loggingIn.sendMail(mail('auth'))).rejects.toMatchObject({
      code: 'EAUTH',
      command: 'AUTH PLAIN',
      responseCode: 535,
      response: '535 5.7.8 Chaos authentication error',
    });
    // A client that does not log in never meets the Authentication trigger.
    await transport.sendMail(mail('no login'));
    expect(await storedSubjects()).toStrictEqual(['no login']);
  });

  it('gives smtplib the same replies', async () => {
    await mailpit.setChaosTriggers({ Recipient: { ErrorCode: 452, Probability: 100 } });
    expect(await smtplib(mailroom, 'nologin')).toStrictEqual([
      ['connect', 220, 'mailroom ESMTP Mailroom ESMTP ready'],
      ['ehlo', 250],
      ['mail', 250, '2.1.0 Accepted'],
      ['rcpt', 452, '4.2.2 Chaos recipient error'],
    ]);
    await mailpit.setChaosTriggers({ Authentication: { ErrorCode: 454, Probability: 100 } });
    expect(await smtplib(mailroom, 'login')).toStrictEqual([
      ['connect', 220, 'mailroom ESMTP Mailroom ESMTP ready'],
      ['ehlo', 250],
      ['auth', 454, '4.7.0 Chaos authentication error'],
    ]);
  });

  it('delivers normally at probability 0, the user’s rules still applying', async () => {
    await mailpit.setChaosTriggers({
      Sender: { ErrorCode: 550, Probability: 0 },
      Recipient: { ErrorCode: 550, Probability: 0 },
      Authentication: { ErrorCode: 550, Probability: 0 },
    });
    for (let i = 0; i < 5; i++) await loggingIn.sendMail(mail(`calm ${i}`));
    expect(await storedSubjects()).toHaveLength(5);
    await expect(transport.sendMail(mail('bounce', 'x@bounce.test'))).rejects.toMatchObject({ responseCode: 550, response: '550 5.1.1 No such user here' });
  });

  it('keeps the user’s rules when the triggers change, and the triggers when the user’s rules change', async () => {
    await mailpit.setChaosTriggers({ Sender: { ErrorCode: 451, Probability: 100 } });
    const chaos = { on: 'mail', match: '*', reply: { code: 451, text: 'Chaos sender error' }, probability: 1, origin: 'mailpit-chaos' };
    const slow = { on: 'rcpt', match: '*@slow.test', delay: 10 };
    // PUT answers every rule in force, the chaos one first.
    expect(await putUserRules([slow])).toStrictEqual({ status: 200, body: { rules: [chaos, slow] }, headers: expect.anything() });
    expect(await mailpit.getChaosTriggers()).toStrictEqual({ ...DEFAULT_TRIGGERS, Sender: { ErrorCode: 451, Probability: 100 } });
    await mailpit.setChaosTriggers();
    expect(await smtpRules()).toStrictEqual([slow]);

    // A rule claiming an origin belongs to that API alone.
    await mailpit.setChaosTriggers({ Sender: { ErrorCode: 451, Probability: 100 } });
    const refused = await putUserRules([slow, chaos]);
    expect(refused.status).toBe(400);
    expect(refused.body).toStrictEqual({
      error: 'bad_request',
      message: "body/rules/1: the rule with origin mailpit-chaos belongs to Mailpit's chaos triggers (PUT /api/v1/chaos) and changes there only: leave it out",
    });
    expect(await smtpRules()).toStrictEqual([chaos, slow]);
  });
});

describe("MailHog's Jim", () => {
  beforeEach(resetAll);

  it('answers 404 with an empty body to GET, PUT and DELETE while Jim is off', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      expect(await request(method, '/api/v2/jim', method === 'PUT' ? '{}' : undefined), method).toStrictEqual(answer(404, null, ''));
    }
  });

  it('comes on with POST (201), with MailHog’s defaults, and goes off with DELETE', async () => {
    expect(await request('POST', '/api/v2/jim')).toStrictEqual(answer(201, null, ''));
    expect(await request('GET', '/api/v2/jim')).toStrictEqual(answer(200, 'application/json', DEFAULT_JIM_JSON));
    expect(await request('POST', '/api/v2/jim', '{}')).toStrictEqual(answer(400, null, ''));
    const jim = (rule: object) => ({ match: '*', ...rule, origin: 'mailhog-jim' });
    expect(await smtpRules()).toStrictEqual([
      jim({ on: 'connect', disconnect: true, probability: 0.01 }),
      jim({ on: 'auth', reply: { code: 500, text: 'Unrecognised command' }, probability: 0.05 }),
      jim({ on: 'mail', reply: { code: 550, text: 'Invalid sender' }, probability: 0.05 }),
      jim({ on: 'rcpt', reply: { code: 550, text: 'Invalid recipient' }, probability: 0.05 }),
      jim({ on: 'auth', disconnect: true, probability: 0.005 }),
      jim({ on: 'mail', disconnect: true, probability: 0.005 }),
      jim({ on: 'rcpt', disconnect: true, probability: 0.005 }),
      jim({ on: 'data', disconnect: true, probability: 0.005 }),
      USER_RULE,
    ]);
    expect(await request('DELETE', '/api/v2/jim')).toStrictEqual(answer(200, null, ''));
    expect(await request('GET', '/api/v2/jim')).toStrictEqual(answer(404, null, ''));
    expect(await smtpRules()).toStrictEqual([USER_RULE]);
  });

  it('takes settings as Go decodes them into monkey.Jim: fields left out are 0, keys in any case, floats as Go writes them', async () => {
    expect((await request('POST', '/api/v2/jim')).status).toBe(201);
    expect(await request('PUT', '/api/v2/jim', '{"acceptchance":1,"REJECTSENDERCHANCE":0.25,"LinkSpeedMin":-0,"LinkSpeedMax":1e-7,"logf":"x"} trailing')).toStrictEqual(
      answer(200, null, ''),
    );
    expect(await request('GET', '/api/v2/jim')).toStrictEqual(
      answer(
        200,
        'application/json',
        '{"DisconnectChance":0,"AcceptChance":1,"LinkSpeedAffect":0,"LinkSpeedMin":-0,"LinkSpeedMax":1e-7,"RejectSenderChance":0.25,"RejectRecipientChance":0,"RejectAuthChance":0}',
      ),
    );
    expect(await smtpRules()).toStrictEqual([{ on: 'mail', match: '*', reply: { code: 550, text: 'Invalid sender' }, probability: 0.25, origin: 'mailhog-jim' }, USER_RULE]);
    for (const bad of ['', '{"AcceptChance":', '{"AcceptChance":"1"}', '{"AcceptChance":1e400}', '[1]', '"jim"']) {
      expect(await request('PUT', '/api/v2/jim', bad), bad).toStrictEqual(answer(400, null, ''));
    }
    expect(JSON.parse((await request('GET', '/api/v2/jim')).text)).toMatchObject({ AcceptChance: 1, RejectSenderChance: 0.25 });
  });

  it('comes back after DELETE with the last settings given, or with those of the POST body', async () => {
    expect((await request('POST', '/api/v2/jim', '{"AcceptChance":1,"RejectRecipientChance":0.5}')).status).toBe(201);
    const given = '{"DisconnectChance":0,"AcceptChance":1,"LinkSpeedAffect":0,"LinkSpeedMin":0,"LinkSpeedMax":0,"RejectSenderChance":0,"RejectRecipientChance":0.5,"RejectAuthChance":0}';
    expect((await request('GET', '/api/v2/jim')).text).toBe(given);
    await request('DELETE', '/api/v2/jim');
    // MailHog ignores a body it cannot decode and brings back the last settings.
    expect(await request('POST', '/api/v2/jim', 'not json')).toStrictEqual(answer(201, null, ''));
    expect((await request('GET', '/api/v2/jim')).text).toBe(given);
  });

  it('refuses senders, recipients and logins at chance 1 with MailHog’s codes, as nodemailer sees them', async () => {
    await request('POST', '/api/v2/jim', '{"AcceptChance":1,"RejectSenderChance":1}');
    await expect(transport.sendMail(mail('sender'))).rejects.toMatchObject({ code: 'EENVELOPE', command: 'MAIL FROM', response: '550 5.1.1 Invalid sender' });
    await request('PUT', '/api/v2/jim', '{"AcceptChance":1,"RejectRecipientChance":1}');
    await expect(transport.sendMail(mail('recipient'))).rejects.toMatchObject({ code: 'EENVELOPE', command: 'RCPT TO', response: '550 5.1.1 Invalid recipient' });
    await request('PUT', '/api/v2/jim', '{"AcceptChance":1,"RejectAuthChance":1}');
    await expect(loggingIn.sendMail(mail('auth'))).rejects.toMatchObject({ code: 'EAUTH', response: '500 5.5.2 Unrecognised command' });
    await request('PUT', '/api/v2/jim', '{"AcceptChance":1}');
    await loggingIn.sendMail(mail('calm'));
    expect(await storedSubjects()).toStrictEqual(['calm']);
  });

  it('closes a connection before the greeting at AcceptChance 0, as PUT {} leaves it', async () => {
    await request('POST', '/api/v2/jim');
    await request('PUT', '/api/v2/jim', '{}');
    const wire = await SmtpWire.open(mailroom.ports.smtp, mailroom.host);
    expect(await nextFrom(wire)).toBe('closed');
    expect(await smtplib(mailroom, 'nologin')).toStrictEqual([['disconnected', 'Connection unexpectedly closed']]);
    await expect(transport.sendMail(mail('refused'))).rejects.toMatchObject({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' });
    await request('DELETE', '/api/v2/jim');
    await transport.sendMail(mail('welcome again'));
    expect(await storedSubjects()).toStrictEqual(['welcome again']);
  });

  it('hangs up instead of answering at DisconnectChance 1, storing nothing', async () => {
    await request('POST', '/api/v2/jim', '{"AcceptChance":1,"DisconnectChance":1}');
    const wire = await SmtpWire.open(mailroom.ports.smtp, mailroom.host);
    expect((await wire.reply()).code).toBe(220);
    expect((await wire.command('EHLO client.test')).code).toBe(250);
    wire.write('MAIL FROM:<app@example.com>\r\n');
    expect(await nextFrom(wire)).toBe('closed');
    expect(await smtplib(mailroom, 'login')).toStrictEqual([
      ['connect', 220, 'mailroom ESMTP Mailroom ESMTP ready'],
      ['ehlo', 250],
      ['disconnected', 'Connection unexpectedly closed'],
    ]);
    await expect(transport.sendMail(mail('dropped'))).rejects.toMatchObject({ code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' });
    expect(await storedSubjects()).toStrictEqual([]);
  });

  it('documents the chaos routes under their tags, saying what Jim cannot do here', async () => {
    const spec = (await api<{ paths: Record<string, Record<string, { tags: string[]; description?: string }>> }>(mailroom, '/api/openapi.json')).body;
    expect(Object.keys(spec.paths['/api/v1/chaos']!).sort()).toStrictEqual(['get', 'put']);
    expect(spec.paths['/api/v1/chaos']!.put!.tags).toStrictEqual(['mailpit']);
    expect(Object.keys(spec.paths['/api/v2/jim']!).sort()).toStrictEqual(['delete', 'get', 'post', 'put']);
    for (const operation of Object.values(spec.paths['/api/v2/jim']!)) expect(operation.tags).toStrictEqual(['mailhog']);
    expect(spec.paths['/api/v2/jim']!.get!.description).toContain('LinkSpeedAffect, LinkSpeedMin and LinkSpeedMax are kept and listed but change nothing');
  });
});

describe('the connect and auth stages and the disconnect action in user rules', () => {
  beforeEach(resetAll);

  it('refuses a connection by client address with a reply and no enhanced status code, or holds the greeting back', async () => {
    expect((await putUserRules([{ on: 'connect', match: '127.0.0.*', reply: { code: 421, text: 'Too busy, come back later' } }])).status).toBe(200);
    expect(await smtplib(mailroom, 'nologin')).toStrictEqual([['connect', 421, 'Too busy, come back later']]);
    await expect(transport.sendMail(mail('busy'))).rejects.toMatchObject({ code: 'EPROTOCOL', response: '421 Too busy, come back later' });

    expect((await putUserRules([{ on: 'connect', match: '10.*', reply: { code: 554, text: 'Not you' } }, { on: 'connect', match: '*', delay: 300 }])).status).toBe(200);
    const started = performance.now();
    await transport.sendMail(mail('late greeting'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    expect(await storedSubjects()).toStrictEqual(['late greeting']);
  });

  it('answers AUTH by user name glob', async () => {
    expect((await putUserRules([{ on: 'auth', match: 'ANN', reply: { code: 535, text: 'Not today' } }])).status).toBe(200);
    await expect(loggingIn.sendMail(mail('ann'))).rejects.toMatchObject({ code: 'EAUTH', response: '535 5.7.8 Not today' });
    const bob = nodemailer.createTransport({ host: mailroom.host, port: mailroom.ports.smtp, ignoreTLS: true, auth: { user: 'bob', pass: 'x' } });
    await bob.sendMail(mail('bob'));
    expect(await storedSubjects()).toStrictEqual(['bob']);
  });

  it('hangs up at the end of DATA after a delay, never storing the message', async () => {
    expect((await putUserRules([{ on: 'data', match: '*@drop.test', delay: 100, disconnect: true }])).status).toBe(200);
    expect(await smtpRules()).toStrictEqual([{ on: 'data', match: '*@drop.test', disconnect: true, delay: 100 }]);
    await expect(transport.sendMail(mail('dropped', 'x@drop.test'))).rejects.toMatchObject({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' });
    await transport.sendMail(mail('kept'));
    expect(await storedSubjects()).toStrictEqual(['kept']);
  });

  it.each([
    [{ on: 'rcpt', match: '*', reply: { code: 550, text: 'No' }, disconnect: true }, 'body/rules/0: the rule both replies and disconnects: give one of them'],
    [{ on: 'connect', match: '<>', disconnect: true }, 'body/rules/0: <> is the null sender, which connect rules never see: use * for any client'],
    [{ on: 'rcpt', match: '*', disconnect: false }, 'body/rules/0: the rule has neither a reply nor a delay'],
    [{ on: 'rcpt', match: '*', delay: 1, origin: 'somebody' }, 'body/rules/0/origin'],
  ])('refuses %j with 400', async (rule, message) => {
    const refused = await putUserRules([rule]);
    expect(refused.status).toBe(400);
    expect(refused.body).toStrictEqual({ error: 'bad_request', message: expect.stringContaining(message) });
    expect(await smtpRules()).toStrictEqual([USER_RULE]);
  });
});
