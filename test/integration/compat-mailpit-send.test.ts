import { simpleParser } from 'mailparser';
import { MailpitClient } from 'mailpit-api';
import { expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';

const mailroom = await useMailroom();
const mailpit = new MailpitClient(mailroom.apiUrl);
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

async function sendRaw(body: string, contentType?: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${mailroom.apiUrl}/api/v1/send`, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

it("mailpit-api's sendMessage stores the message its JSON describes and answers Mailpit's {ID}", async () => {
  const { ID } = await mailpit.sendMessage({
    From: { Email: 'ann@example.test', Name: 'Ann Ünïcode' },
    To: [{ Email: 'bob@example.test', Name: 'Bob' }, { Email: 'carol@example.test' }],
    Cc: [{ Email: 'dan@example.test' }],
    Bcc: ['hidden@example.test'],
    ReplyTo: [{ Email: 'replies@example.test' }],
    Subject: 'Grüße & <welcome>',
    Text: 'code 654321',
    HTML: '<p>code <b>654321</b></p><img src="cid:px@example.test">',
    Headers: { 'X-Campaign': 'spring' },
    Tags: ['signup', 'Test 1'],
    Attachments: [
      { Filename: 'notes.txt', Content: Buffer.from('hello\n').toString('base64'), ContentType: 'text/plain' },
      { Filename: 'px.png', Content: `data:image/png;base64,${PIXEL.toString('base64')}`, ContentType: 'image/png', ContentID: 'px@example.test' },
    ],
  });
  const raw = Buffer.from(await (await fetch(`${mailroom.apiUrl}/api/messages/${ID}/raw`)).arrayBuffer());
  const parsed = await simpleParser(raw, { keepCidLinks: true });
  expect(parsed.subject).toBe('Grüße & <welcome>');
  expect(parsed.from?.value).toStrictEqual([{ name: 'Ann Ünïcode', address: 'ann@example.test' }]);
  expect(parsed.headers.get('x-campaign')).toBe('spring');
  expect(parsed.headers.get('x-tags')).toBe('signup, Test 1');
  expect(parsed.headers.get('return-path')).toStrictEqual({ value: [{ address: 'ann@example.test', name: '' }], html: '<span class="mp_address_group"><a href="mailto:ann@example.test" class="mp_address_email">ann@example.test</a></span>', text: 'ann@example.test' });
  expect(parsed.text).toBe('code 654321');
  expect(parsed.html).toBe('<p>code <b>654321</b></p><img src="cid:px@example.test">');
  expect(parsed.attachments.map((a) => [a.filename, a.content.toString('base64')])).toStrictEqual([
    ['px.png', PIXEL.toString('base64')],
    ['notes.txt', Buffer.from('hello\n').toString('base64')],
  ]);
  const detail = await api<{ envelope: { mailFrom: string; rcptTo: string[] } }>(mailroom, `/api/messages/${ID}`);
  expect(detail.body.envelope).toStrictEqual({ mailFrom: 'ann@example.test', rcptTo: ['bob@example.test', 'carol@example.test', 'dan@example.test', 'hidden@example.test'] });
  expect(raw.toString('latin1')).not.toMatch(/^bcc:/im);
});

it('answers exactly as Mailpit: 200 application/json with a newline, keys in any case, any Content-Type', async () => {
  const answer = await sendRaw('{"from":{"email":"a@example.test"},"to":[{"email":"b@example.test"}],"subject":"lower-case keys"}', 'text/plain');
  expect(answer.status).toBe(200);
  expect(answer.type).toBe('application/json');
  expect(answer.text).toMatch(/^\{"ID":"[\w-]+"\}\n$/);
});

it("refuses with Mailpit's 400 {\"Error\"} and its wording", async () => {
  const base = { From: { Email: 'a@example.test' }, To: [{ Email: 'b@example.test' }], Subject: 's' };
  const cases: [unknown, string][] = [
    [{ ...base, Subject: '' }, 'error building message: subject not set'],
    [{ ...base, From: { Email: '' } }, 'error building message: from not set'],
    [{ ...base, To: [] }, 'error building message: no recipients (to, cc, bcc) set'],
    [{ ...base, To: [{ Email: 'not an address' }] }, 'invalid To address: not an address'],
    [{ ...base, Cc: [{ Email: 'x@' }] }, 'invalid Cc address: x@'],
    [{ ...base, Headers: { subject: 'again' } }, 'cannot overwrite header: "subject"'],
    [{ ...base, Tags: ['a'], Headers: { 'X-Tags': 'b' } }, 'cannot overwrite header: "X-Tags"'],
    [{ ...base, Attachments: [{ Filename: 'f.bin', Content: 'ab$d' }] }, 'error decoding base64 attachment "f.bin": illegal base64 data at input byte 2'],
    [{ ...base, Subject: 42 }, 'json: cannot unmarshal number into Go struct field .Subject of type string'],
  ];
  for (const [body, message] of cases) {
    expect(await sendRaw(JSON.stringify(body), 'application/json'), message).toStrictEqual({ status: 400, type: 'application/json', text: `${JSON.stringify({ Error: message })}\n` });
  }
  expect(await sendRaw('', 'application/json')).toStrictEqual({ status: 400, type: 'application/json', text: '{"Error":"EOF"}\n' });
  const truncated = await sendRaw('{"From":', 'application/json');
  expect([truncated.status, (JSON.parse(truncated.text) as { Error: string }).Error.length > 0]).toStrictEqual([400, true]);
  await expect(mailpit.sendMessage({ ...base, Subject: '' })).rejects.toThrow(/^Mailpit API Error: 400 Bad Request at POST .*\/api\/v1\/send: \{"Error":"error building message: subject not set"\}/);
});
