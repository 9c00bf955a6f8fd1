import { render } from 'svelte/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import SidebarView from '../../web/src/components/Sidebar.svelte';
import { activeMailbox, MailboxCounts, mailboxQuery } from '../../web/src/lib/mailboxes.svelte.js';
import { activeTag, tagQuery } from '../../web/src/lib/tags.svelte.js';

const json = (body: unknown): Response => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('mailbox search', () => {
  it('filters with to:, quoting what a bare value cannot hold, and finds the mailbox back from the query', () => {
    expect(mailboxQuery('bob@example.com')).toBe('to:bob@example.com');
    expect(mailboxQuery('"john doe"@example.com')).toBe('to:"john doe" to:"@example.com"');
    const list = [
      { address: 'bob@example.com', total: 1, unread: 0 },
      { address: '"john doe"@example.com', total: 1, unread: 1 },
    ];
    expect(activeMailbox(' to:Bob@example.com ', list)).toBe('bob@example.com');
    expect(activeMailbox('to:"john doe" to:"@example.com"', list)).toBe('"john doe"@example.com');
    expect(activeMailbox('to:bob', list)).toBe(null);
    expect(activeMailbox('', list)).toBe(null);
  });
});

describe('mailbox state', () => {
  it('fetches at most once per delay during a burst of live events, and not after stop', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn<typeof globalThis.fetch>(async () => json({ mailboxes: [{ address: 'a@example.com', total: 2, unread: 1 }] }));
    vi.stubGlobal('fetch', fetch);
    const mailboxes = new MailboxCounts();
    for (let i = 0; i < 5; i++) {
      mailboxes.reloadSoon();
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.runAllTimersAsync();
    expect(fetch.mock.calls.map(([path]) => path)).toStrictEqual(['/api/mailboxes', '/api/mailboxes']);
    expect(mailboxes.list).toStrictEqual([{ address: 'a@example.com', total: 2, unread: 1 }]);
    mailboxes.reloadSoon();
    mailboxes.stop();
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('keeps the last list and reports the error when a fetch fails', async () => {
    vi.stubGlobal('fetch', async () => json({ mailboxes: [{ address: 'a@example.com', total: 1, unread: 1 }] }));
    const mailboxes = new MailboxCounts();
    await mailboxes.reload();
    const down = { error: 'unavailable', message: 'Mailroom is shutting down' };
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify(down), { status: 503, headers: { 'content-type': 'application/json' } }));
    await mailboxes.reload();
    expect([mailboxes.list.length, mailboxes.error]).toStrictEqual([1, 'Mailroom is shutting down']);
  });
});

describe('mailbox sidebar', () => {
  it('lists all mail and every mailbox with its counts, marking the active one, all as text', () => {
    const { body } = render(SidebarView, {
      props: {
        mailboxes: [
          { address: '<img src=x onerror=alert(1)>@example.com', total: 3, unread: 0 },
          { address: 'bob@example.com', total: 5, unread: 2 },
        ],
        active: 'bob@example.com',
        onselect: () => undefined,
        tags: [],
        activeTag: null,
        ontag: () => undefined,
      },
    });
    const text = body.replace(/<!--.*?-->/gs, '');
    expect(text).not.toContain('<img');
    expect(text).toContain('&lt;img src=x onerror=alert(1)>@example.com');
    const buttons = [...text.matchAll(/<button((?:[^>"]|"[^"]*")*)>(.*?)<\/button>/gs)].map(([, attributes, inner]) => [
      attributes!.includes('aria-current="true"'),
      inner!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim(),
    ]);
    expect(buttons).toStrictEqual([
      [false, 'All mail'],
      [false, '&lt;img src=x onerror=alert(1)>@example.com 0 unread of / 3'],
      [true, 'bob@example.com 2 unread of / 5'],
    ]);
    expect(text).not.toContain('Tags');
  });

  it('lists the tags under their own heading with their counts, marking the active one, as text', () => {
    const { body } = render(SidebarView, {
      props: {
        mailboxes: [],
        active: null,
        onselect: () => undefined,
        tags: [
          { name: '<b>bold</b>', count: 1 },
          { name: 'Needs review', count: 12 },
        ],
        activeTag: 'Needs review',
        ontag: () => undefined,
      },
    });
    const text = body.replace(/<!--.*?-->/gs, '');
    expect(text).toMatch(/<nav class="tags" aria-labelledby="tags-heading"><h2 id="tags-heading"[^>]*>Tags<\/h2>/);
    const tagButtons = [...text.matchAll(/<button((?:[^>"]|"[^"]*")*)>(.*?)<\/button>/gs)]
      .filter(([, attributes]) => attributes!.includes('data-tag'))
      .map(([, attributes, inner]) => [attributes!.includes('aria-current="true"'), inner!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim()]);
    expect(tagButtons).toStrictEqual([
      [false, '&lt;b>bold&lt;/b> 1'],
      [true, 'Needs review 12'],
    ]);
  });
});

describe('tag search', () => {
  it('quotes the tag, and finds the tag back from the query ignoring case, quoted or not', () => {
    expect(tagQuery('Needs review')).toBe('tag:"Needs review"');
    const tags = [
      { name: 'Needs review', count: 2 },
      { name: 'urgent', count: 1 },
    ];
    expect(activeTag(' tag:"needs REVIEW" ', tags)).toBe('Needs review');
    expect(activeTag('tag:Urgent', tags)).toBe('urgent');
    expect(activeTag('tag:urgent other', tags)).toBe(null);
    expect(activeTag('', tags)).toBe(null);
  });
});
