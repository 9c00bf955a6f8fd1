import { beforeAll, describe, expect, it } from 'vitest';
import { api, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

const mailroom = await useMailroom();

interface Summary {
  id: string;
  subject: string;
  read: boolean;
}
interface Page {
  total: number;
  unread: number;
  messages: Summary[];
}

const subjects = async (query: string): Promise<string[]> => {
  const page = await api<Page>(mailroom, `/api/messages?query=${encodeURIComponent(query)}&limit=100`);
  expect(page.status).toBe(200);
  return page.body.messages.map((m) => m.subject);
};

describe('HTTP API', () => {
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    ids.welcome = await send(mailroom, {
      from: 'Alice Admin <alice@shop.test>',
      to: 'bob@example.com',
      subject: 'Welcome to the shop',
      text: 'Your verification code is 123456',
    });
    ids.invoice = await send(mailroom, {
      from: 'billing@shop.test',
      to: 'carol@example.com',
      cc: 'accounts@example.com',
      subject: 'Invoice 42',
      text: 'See the attached invoice',
      attachments: [{ filename: 'invoice.pdf', content: Buffer.from('%PDF') }],
    });
    ids.reset = await send(mailroom, {
      from: 'security@shop.test',
      to: 'bob@example.com',
      bcc: 'audit@example.com',
      subject: 'Password reset',
      html: '<p>Click <a href="https://shop.test/reset">here</a> to reset</p>',
      text: undefined,
    });
  });

  it('lists newest first with totals and pages', async () => {
    const all = await api<Page>(mailroom, '/api/messages');
    expect(all.body.total).toBe(3);
    expect(all.body.unread).toBe(3);
    expect(all.body.messages.map((m) => m.subject)).toStrictEqual(['Password reset', 'Invoice 42', 'Welcome to the shop']);
    const page = await api<Page>(mailroom, '/api/messages?limit=1&offset=1');
    expect(page.body.total).toBe(3);
    expect(page.body.messages.map((m) => m.subject)).toStrictEqual(['Invoice 42']);
    const past = await api<Page>(mailroom, '/api/messages?offset=10');
    expect(past.body).toStrictEqual({ total: 3, unread: 3, messages: [] });
  });

  it('searches with the query language', async () => {
    expect(await subjects('welcome')).toStrictEqual(['Welcome to the shop']);
    expect(await subjects('123456')).toStrictEqual(['Welcome to the shop']);
    expect(await subjects('"to reset"')).toStrictEqual(['Password reset']);
    expect(await subjects('from:billing')).toStrictEqual(['Invoice 42']);
    expect(await subjects('from:"Alice Admin"')).toStrictEqual(['Welcome to the shop']);
    expect(await subjects('to:bob@example.com')).toStrictEqual(['Password reset', 'Welcome to the shop']);
    expect(await subjects('to:audit@example.com')).toStrictEqual(['Password reset']);
    expect(await subjects('to:accounts')).toStrictEqual(['Invoice 42']);
    expect(await subjects('cc:accounts')).toStrictEqual(['Invoice 42']);
    expect(await subjects('subject:invoice')).toStrictEqual(['Invoice 42']);
    expect(await subjects('has:attachment')).toStrictEqual(['Invoice 42']);
    expect(await subjects('-has:attachment')).toStrictEqual(['Password reset', 'Welcome to the shop']);
    expect(await subjects('shop -subject:welcome -subject:invoice')).toStrictEqual(['Password reset']);
    expect(await subjects('is:unread')).toHaveLength(3);
    expect(await subjects('is:read')).toStrictEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await subjects(`before:${today}`)).toStrictEqual([]);
    expect(await subjects(`after:${today}`)).toHaveLength(3);
    expect(await subjects('nothing-matches-this')).toStrictEqual([]);
  });

  it('answers 400 with a JSON body for bad parameters', async () => {
    expect((await api(mailroom, '/api/messages?limit=0')).status).toBe(400);
    expect((await api(mailroom, '/api/messages?limit=5000')).status).toBe(400);
    expect((await api(mailroom, '/api/messages?offset=-1')).body).toStrictEqual({
      error: 'bad_request',
      message: 'querystring/offset must be >= 0',
    });
    expect((await api(mailroom, '/api/messages?query=before:yesterday')).body).toStrictEqual({
      error: 'bad_request',
      message: 'query: before: expects a date (YYYY-MM-DD) or an ISO date-time with a zone, got "yesterday"',
    });
    expect((await api(mailroom, '/api/messages?query=is:starred')).status).toBe(400);
    expect((await api(mailroom, `/api/messages?query=${'x'.repeat(5000)}`)).status).toBe(400);
    const patch = await api(mailroom, `/api/messages/${ids.welcome}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"read": "yes"',
    });
    expect(patch.status).toBe(400);
    expect(patch.body).toMatchObject({ error: 'bad_request' });
    const wrongType = await api(mailroom, `/api/messages/${ids.welcome}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"read": 3, "other": 1}',
    });
    expect(wrongType.status).toBe(400);
  });

  it('answers 404 with a JSON body for unknown ids and routes', async () => {
    for (const path of ['/api/messages/nope', '/api/messages/nope/raw', `/api/messages/${ids.invoice}/attachments/9`, '/api/nothing']) {
      const response = await api<{ error: string }>(mailroom, path);
      expect([path, response.status, response.body.error]).toStrictEqual([path, 404, 'not_found']);
    }
    expect((await api(mailroom, '/api/messages/nope', { method: 'DELETE' })).status).toBe(404);
  });

  it('marks messages read and unread', async () => {
    const patched = await api<Summary>(mailroom, `/api/messages/${ids.welcome}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ read: true }),
    });
    expect(patched.status).toBe(200);
    expect(patched.body.read).toBe(true);
    expect(await subjects('is:read')).toStrictEqual(['Welcome to the shop']);
    expect((await api<Page>(mailroom, '/api/messages')).body.unread).toBe(2);
    await api(mailroom, `/api/messages/${ids.welcome}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ read: false }),
    });
    expect((await api<Page>(mailroom, '/api/messages')).body.unread).toBe(3);
  });

  it('reports info and health', async () => {
    const info = await api<Record<string, unknown>>(mailroom, '/api/info');
    expect(info.body).toMatchObject({
      version: '0.1.0',
      ports: { smtp: mailroom.ports.smtp, http: mailroom.ports.http },
      messages: 3,
      limits: { maxMessages: 10000, maxStoreBytes: 512 * 1024 * 1024 },
      dataDir: null,
    });
    expect(info.body.storeBytes).toBeGreaterThan(1000);
    expect((info.body.memory as { rss: number }).rss).toBeGreaterThan(0);
    expect((await api(mailroom, '/api/health')).body).toStrictEqual({ status: 'ok' });
  });

  it('documents every route in /api/openapi.json', async () => {
    const spec = await api<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(mailroom, '/api/openapi.json');
    expect(spec.body.openapi).toBe('3.1.0');
    // Mailroom's own routes; Mailpit's and MailHog's are listed under their own tags (compat tests).
    const routes = Object.entries(spec.body.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => !(operation as { tags?: string[] }).tags?.some((tag) => tag === 'mailpit' || tag === 'mailhog'))
        .map(([m]) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toStrictEqual(
      [
        'GET /api/messages',
        'POST /api/messages',
        'POST /api/messages/{id}/release',
        'GET /api/tags',
        'PATCH /api/tags/{name}',
        'DELETE /api/tags/{name}',
        'DELETE /api/messages',
        'GET /api/messages/wait',
        'GET /api/messages/{id}',
        'PATCH /api/messages/{id}',
        'DELETE /api/messages/{id}',
        'GET /api/messages/{id}/raw',
        'GET /api/messages/{id}/attachments/{partId}',
        'GET /api/messages/{id}/links',
        'GET /api/messages/{id}/codes',
        'GET /api/messages/export',
        'GET /api/messages/{id}/parts',
        'GET /api/messages/{id}/parts/{partId}',
        'GET /api/messages/{id}/parts/{partId}/raw',
        'GET /api/mailboxes',
        'GET /api/info',
        'GET /api/health',
        'GET /api/smtp/rules',
        'PUT /api/smtp/rules',
      ].sort(),
    );
  });

  it('serves the web page at /', async () => {
    const page = await fetch(`${mailroom.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  });

  it('deletes one message, those matching a query, then all', async () => {
    expect((await api(mailroom, `/api/messages/${ids.welcome}`, { method: 'DELETE' })).body).toStrictEqual({ deleted: 1 });
    expect((await api(mailroom, `/api/messages/${ids.welcome}`)).status).toBe(404);
    expect((await api(mailroom, '/api/messages?query=has:attachment', { method: 'DELETE' })).body).toStrictEqual({ deleted: 1 });
    expect(await subjects('')).toStrictEqual(['Password reset']);
    expect((await api(mailroom, '/api/messages', { method: 'DELETE' })).body).toStrictEqual({ deleted: 1 });
    expect((await api<Page>(mailroom, '/api/messages')).body).toStrictEqual({ total: 0, unread: 0, messages: [] });
  });
});
