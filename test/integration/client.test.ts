import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MailroomClient, MailroomError, MailroomTimeoutError, UnexpectedMessageError, compileMatch } from 'mailroom-catcher/client';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();
const client = new MailroomClient({ url: mailroom.apiUrl, timeout: 5000 });
const clientDir = fileURLToPath(new URL('../../dist/server/src/client/', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('MailroomClient', () => {
  it('lists messages and reads one in full, with raw source and headers', async () => {
    const inbox = client.inbox();
    const first = await send(mailroom, { to: inbox.address, subject: 'First one', text: 'hello there', headers: { 'X-Test-Id': 'abc' } });
    await send(mailroom, { to: inbox.address, subject: 'Second one' });
    const page = await inbox.messages();
    expect(page.total).toBe(2);
    expect(page.messages.map((m) => m.subject)).toStrictEqual(['Second one', 'First one']);
    expect((await client.messages({ to: inbox.address, subject: 'first' })).messages.map((m) => m.id)).toStrictEqual([first]);
    expect((await client.messages(`to:${inbox.address} header:X-Test-Id=abc`)).total).toBe(1);
    expect((await inbox.messages({}, { limit: 1, offset: 1 })).messages.map((m) => m.id)).toStrictEqual([first]);

    const message = await client.message(first);
    expect(message).toMatchObject({ id: first, subject: 'First one', text: 'hello there\n', html: null, attachments: [] });
    expect(message.envelope.rcptTo).toStrictEqual([inbox.address]);
    expect(message.header('x-test-id')).toBe('abc');
    expect(message.headerValues('X-Test-Id')).toStrictEqual(['abc']);
    const raw = await message.raw();
    expect(raw).toContain('Subject: First one');
    expect(raw).toMatch(/^X-Test-Id: abc\r$/im);
    expect((await message.rawBytes()).length).toBe(message.size);
    expect(JSON.parse(JSON.stringify(message))).toMatchObject({ id: first, subject: 'First one', text: 'hello there\n' });
  });

  it('makes unique lower-case inbox addresses without +', () => {
    const addresses = new Set(Array.from({ length: 200 }, () => client.inbox().address));
    expect(addresses.size).toBe(200);
    for (const address of addresses) expect(address).toMatch(/^t-[a-z0-9]{12}@mailroom\.test$/);
    expect(client.inbox({ address: 'Fixed@Example.COM' }).address).toBe('fixed@example.com');
  });

  it('waits for a message sent later, and finds one already there', async () => {
    const inbox = client.inbox();
    const waiting = inbox.waitForMessage({ subject: 'Your code' });
    await sleep(50);
    await send(mailroom, { to: inbox.address, subject: 'Something else' });
    const id = await send(mailroom, { to: inbox.address, subject: 'Your code is here', text: 'Code: 482913' });
    const message = await waiting;
    expect(message.id).toBe(id);
    // Already stored: found at once, as every stored message counts by default.
    const started = Date.now();
    expect((await inbox.waitForMessage({ subject: 'Your code' })).id).toBe(id);
    expect(Date.now() - started).toBeLessThan(1000);
    // `after: 'now'` counts only mail that arrives after the call.
    await expect(inbox.waitForMessage({ subject: 'Your code', after: 'now', timeout: 300 })).rejects.toThrow(MailroomTimeoutError);
    // `after: message` counts only mail received after that one.
    await expect(inbox.waitForMessage({ after: message, timeout: 200 })).rejects.toThrow(MailroomTimeoutError);
  });

  it('matches to, from and subjects with spaces and quotes exactly enough', async () => {
    const inbox = client.inbox();
    await send(mailroom, { from: 'shop@example.com', to: inbox.address, subject: 'Order confirmed' });
    await send(mailroom, { from: 'Billing Team <billing@example.com>', to: inbox.address, cc: 'boss@example.com', subject: 'Your "special" order shipped' });
    expect((await client.waitForMessage({ to: inbox.address, from: 'billing@example.com' })).subject).toBe('Your "special" order shipped');
    expect((await inbox.waitForMessage({ from: 'Billing Team' })).subject).toBe('Your "special" order shipped');
    expect((await inbox.waitForMessage({ subject: 'order confirmed' })).subject).toBe('Order confirmed');
    expect((await inbox.waitForMessage({ subject: '"special" order' })).subject).toBe('Your "special" order shipped');
    expect((await inbox.waitForMessage({ to: 'boss@example.com' })).subject).toBe('Your "special" order shipped');
    expect((await inbox.waitForMessage(`subject:"order shipped"`)).subject).toBe('Your "special" order shipped');
    expect(compileMatch({ to: 'a@b.test', subject: 'two words', query: 'has:attachment' }).query).toBe('to:a@b.test subject:"two words" has:attachment');
  });

  it('matches a RegExp subject in the client, waiting through the long poll for a match', async () => {
    const inbox = client.inbox();
    await send(mailroom, { to: inbox.address, subject: 'Welcome aboard' });
    const waiting = inbox.waitForMessage({ subject: /^reset your password \d+$/i });
    await sleep(50);
    await send(mailroom, { to: inbox.address, subject: 'Reset your password now' });
    const id = await send(mailroom, { to: inbox.address, subject: 'RESET your password 77' });
    expect((await waiting).id).toBe(id);
    // A /g pattern keeps no state between messages.
    const matched = await inbox.waitForMessages(2, { subject: /reset/gi });
    expect(matched.map((m) => m.subject)).toStrictEqual(['Reset your password now', 'RESET your password 77']);
    expect((await inbox.messages({ subject: /welcome/i })).messages.map((m) => m.subject)).toStrictEqual(['Welcome aboard']);
  });

  it('waits for several messages, oldest first', async () => {
    const inbox = client.inbox();
    const waiting = inbox.waitForMessages(3, { subject: 'batch' });
    for (const n of [1, 2, 3, 4]) await send(mailroom, { to: inbox.address, subject: `batch ${n}` });
    expect((await waiting).map((m) => m.subject)).toStrictEqual(['batch 1', 'batch 2', 'batch 3']);
    await expect(inbox.waitForMessages(5, { subject: 'batch', timeout: 200 })).rejects.toThrow(/waiting for 5 messages matching .*\nArrived at t-[a-z0-9]+@mailroom.test instead \(newest first\):\n {2}- "batch 4"/);
  });

  it('explains a timeout by what arrived instead', async () => {
    const inbox = client.inbox();
    await send(mailroom, { from: 'app@example.com', to: inbox.address, subject: 'Welcome, Dana' });
    await send(mailroom, { from: 'app@example.com', to: 'someone-else@example.com', subject: 'Receipt 1001' });
    const error = (await inbox.waitForMessage({ subject: 'Password reset', timeout: 300 }).catch((e: unknown) => e)) as MailroomTimeoutError;
    expect(error).toBeInstanceOf(MailroomTimeoutError);
    expect(error.message).toContain(`Timed out after 300 ms waiting for a message matching to:${inbox.address} subject:"Password reset"`);
    expect(error.message).toMatch(new RegExp(`Arrived at ${inbox.address} instead \\(newest first\\):\n  - "Welcome, Dana" from app@example.com to ${inbox.address} \\(id `));
    expect(error.message).toMatch(/Meanwhile elsewhere \(newest first\):\n  - "Receipt 1001" from app@example.com to someone-else@example.com/);
    expect(error.arrived.map((m) => m.subject)).toContain('Welcome, Dana');

    const regex = (await inbox.waitForMessage({ subject: /reset/, timeout: 200 }).catch((e: unknown) => e)) as MailroomTimeoutError;
    expect(regex.message).toContain('subject:/reset/');
    expect(regex.message).toMatch(/Matched all but the subject:\n {2}- "Welcome, Dana"/);
    expect(regex.rejected.map((m) => m.subject)).toStrictEqual(['Welcome, Dana']);

    const empty = client.inbox();
    const nothing = (await empty.waitForMessage({ after: 'now', timeout: 100 }).catch((e: unknown) => e)) as Error;
    expect(nothing.message).toContain(`Nothing arrived at ${empty.address}.`);
    const global = (await client.waitForMessage({ subject: 'never sent', after: 'now', timeout: 100 }).catch((e: unknown) => e)) as Error;
    expect(global.message).toMatch(/Nothing arrived\.$/);
  });

  it('expectNoMessage passes after a quiet window and fails naming what came', async () => {
    const inbox = client.inbox();
    const started = Date.now();
    await inbox.expectNoMessage({ within: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    await send(mailroom, { to: inbox.address, subject: 'Newsletter' });
    await inbox.expectNoMessage({ subject: 'Alert' }, { within: 100 });
    await inbox.expectNoMessage({ subject: /^alert/i, within: 100 });
    const checking = inbox.expectNoMessage({ subject: 'Alert' }, { within: 500 });
    await sleep(50);
    await send(mailroom, { to: inbox.address, subject: 'Alert: disk full' });
    const error = (await checking.catch((e: unknown) => e)) as UnexpectedMessageError;
    expect(error).toBeInstanceOf(UnexpectedMessageError);
    expect(error.message).toContain(`Expected no message matching to:${inbox.address} subject:"Alert" within 500 ms, but 1 arrived`);
    expect(error.message).toContain('"Alert: disk full"');
    expect(error.messages.map((m) => m.subject)).toStrictEqual(['Alert: disk full']);
    // Only later mail, with a cursor.
    const [newest] = (await inbox.messages()).messages;
    await inbox.expectNoMessage({ subject: 'Alert', after: newest!.id, within: 100 });
  });

  it('clears everything, by query, or one inbox only', async () => {
    const a = client.inbox();
    const b = client.inbox();
    await send(mailroom, { to: a.address, subject: 'keep' });
    await send(mailroom, { to: a.address, subject: 'drop' });
    await send(mailroom, { to: b.address, subject: 'drop' });
    expect(await a.clear({ subject: 'drop' })).toBe(1);
    expect((await a.messages()).messages.map((m) => m.subject)).toStrictEqual(['keep']);
    expect(await b.clear()).toBe(1);
    expect((await b.messages()).total).toBe(0);
    expect(await a.clear({ subject: /^ke+p$/ })).toBe(1);
    await send(mailroom, { to: a.address, subject: 'again' });
    expect(await client.clear()).toBeGreaterThanOrEqual(1);
    expect((await client.messages()).total).toBe(0);
  });

  it('keeps 8 parallel inboxes apart', async () => {
    const inboxes = Array.from({ length: 8 }, () => client.inbox());
    const results = await Promise.all(
      inboxes.map(async (inbox, n) => {
        const waiting = inbox.waitForMessages(2, { subject: 'Verify' });
        await Promise.all([send(mailroom, { to: inbox.address, subject: `Verify ${n} a` }), send(mailroom, { to: inbox.address, subject: `Verify ${n} b` })]);
        const messages = await waiting;
        await inbox.expectNoMessage({ subject: 'Verify', after: messages[1]!, within: 200 });
        return { n, messages, page: await inbox.messages() };
      }),
    );
    for (const { n, messages, page } of results) {
      expect(messages.map((m) => m.subject).sort()).toStrictEqual([`Verify ${n} a`, `Verify ${n} b`]);
      expect(page.total).toBe(2);
      for (const m of messages) expect(m.envelope.rcptTo).toStrictEqual([inboxes[n]!.address]);
    }
  });

  it('fetches attachment content with its sha256', async () => {
    const inbox = client.inbox();
    const pdf = Buffer.from('%PDF-1.4 fake invoice\n');
    const csv = Buffer.from('a,b\n1,2\n');
    await send(mailroom, {
      to: inbox.address,
      subject: 'Invoice',
      attachments: [
        { filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'data.csv', content: csv, contentType: 'text/csv' },
      ],
    });
    const message = await inbox.waitForMessage({ query: 'has:attachment' });
    expect(message.attachments.map((a) => [a.filename, a.contentType, a.size])).toStrictEqual([
      ['invoice.pdf', 'application/pdf', pdf.length],
      ['data.csv', 'text/csv', csv.length],
    ]);
    const invoice = message.attachment('invoice.pdf')!;
    expect(Buffer.from(await invoice.content())).toStrictEqual(pdf);
    expect(invoice.sha256).toBe(createHash('sha256').update(pdf).digest('hex'));
    expect(await message.attachment('data.csv')!.text()).toBe('a,b\n1,2\n');
    expect(message.attachment('data.csv')!.sha256).toBe(createHash('sha256').update(csv).digest('hex'));
    expect(invoice.url).toBe(`${mailroom.apiUrl}/api/messages/${message.id}/attachments/${invoice.partId}`);
  });

  it('extracts links and codes', async () => {
    const inbox = client.inbox();
    await send(mailroom, {
      to: inbox.address,
      subject: 'Confirm your account',
      text: 'Your code is 731904. Or open https://app.test/confirm?token=abc',
      html: '<p>Your code is <b>731904</b>.</p><p><a href="https://app.test/confirm?token=abc">Confirm</a></p>',
    });
    const message = await inbox.waitForMessage({ subject: 'Confirm' });
    const links = await message.links();
    expect(links).toContainEqual({ url: 'https://app.test/confirm?token=abc', text: 'Confirm', part: expect.any(String), type: 'html' });
    expect(links).toContainEqual({ url: 'https://app.test/confirm?token=abc', text: null, part: expect.any(String), type: 'text' });
    expect(await message.codes()).toStrictEqual(['731904']);
    expect(await message.codes(/token=(\w+)/)).toStrictEqual(['abc']);
  });

  it('reports API errors and an unreachable server as MailroomError', async () => {
    const missing = (await client.message('no-such-id').catch((e: unknown) => e)) as MailroomError;
    expect(missing).toBeInstanceOf(MailroomError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    await expect(client.waitForMessage({ query: 'before:2026-13-45' })).rejects.toMatchObject({ status: 400, code: 'bad_request' });
    const nowhere = new MailroomClient({ url: 'http://127.0.0.1:9/api/' });
    expect(nowhere.url).toBe('http://127.0.0.1:9');
    expect(await nowhere.health()).toBe(false);
    await expect(nowhere.messages()).rejects.toMatchObject({ status: 0, code: 'unreachable' });
    expect(await client.health()).toBe(true);
    expect(() => new MailroomClient({ url: '' })).toThrow(TypeError);
  });

  it('uses the fetch it is given and honours an abort signal', async () => {
    const seen: string[] = [];
    const traced = new MailroomClient({ url: mailroom.apiUrl, fetch: (input, init) => (seen.push(input), fetch(input, init)) });
    await traced.messages({ subject: 'x y' });
    expect(seen).toStrictEqual([`${mailroom.apiUrl}/api/messages?query=subject%3A%22x+y%22`]);
    const controller = new AbortController();
    const waiting = traced.waitForMessage({ subject: 'never', timeout: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('test over')), 50);
    await expect(waiting).rejects.toThrow('test over');
  });

  it('imports no Node.js module, and runs in Chromium', async () => {
    for (const file of readdirSync(clientDir).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(`${clientDir}${file}`, 'utf8');
      for (const line of source.split('\n').filter((l) => /^\s*(import|export)\b.*\bfrom\b/.test(l))) expect(line).toMatch(/from '\.\/[a-z-]+\.js';$/);
      expect(source).not.toMatch(/\b(process|Buffer|require)\b[.(]/);
    }
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      // The client's files are served on Mailroom's own origin, as an app bundling it would be.
      await page.route(`${mailroom.apiUrl}/client-under-test/**`, (route) => {
        const name = new URL(route.request().url()).pathname.split('/').pop()!;
        const body = name === 'index.html' ? '<!doctype html><title>client</title>' : readFileSync(`${clientDir}${name}`, 'utf8');
        return route.fulfill({ body, contentType: name.endsWith('.js') ? 'text/javascript' : 'text/html' });
      });
      await page.goto(`${mailroom.apiUrl}/client-under-test/index.html`);
      // A string, so that Vitest's transform leaves the dynamic import alone.
      const inboxAddress = await page.evaluate(`(async () => {
        const { MailroomClient } = await import('/client-under-test/index.js');
        const inbox = new MailroomClient({ url: location.origin }).inbox();
        window.waiting = inbox.waitForMessage({ subject: /from the browser/ }).then((m) => ({ subject: m.subject, text: m.text }));
        return inbox.address;
      })()`);
      await send(mailroom, { to: inboxAddress as string, subject: 'Hello from the browser test', text: 'hi' });
      expect(await page.evaluate(() => (window as unknown as { waiting: Promise<unknown> }).waiting)).toStrictEqual({ subject: 'Hello from the browser test', text: 'hi\n' });
    } finally {
      await browser.close();
    }
  });
});
