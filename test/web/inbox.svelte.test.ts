import { describe, expect, it } from 'vitest';
import type { MessageSummary } from '../../server/src/api/schemas.js';
import { formatSize, relativeTime } from '../../web/src/lib/format.js';
import { Inbox } from '../../web/src/lib/inbox.svelte.js';

const summary = (id: string, read = false): MessageSummary => ({
  id,
  from: { name: '', address: 'a@example.test' },
  to: [],
  cc: [],
  subject: id,
  date: null,
  receivedAt: '2026-11-27T00:00:00.000Z',
  size: 10,
  read,
  tags: [],
  attachmentCount: 0,
  snippet: '',
  envelope: { mailFrom: 'a@example.test', rcptTo: [] },
});

describe('inbox state', () => {
  it('applies live events: new first, updates in place, deletes and clears, keeping counts', () => {
    const inbox = new Inbox();
    inbox.applyNew(summary('a'));
    inbox.applyNew(summary('b'));
    inbox.applyNew(summary('b'));
    expect(inbox.rows.map((m) => m?.id)).toStrictEqual(['b', 'a']);
    expect([inbox.total, inbox.unread]).toStrictEqual([2, 2]);
    inbox.applyUpdate(summary('a', true));
    expect([inbox.rows[1]!.read, inbox.unread]).toStrictEqual([true, 1]);
    inbox.applyDelete(['a']);
    expect([inbox.rows.map((m) => m?.id), inbox.total, inbox.unread]).toStrictEqual([['b'], 1, 1]);
    inbox.applyClear();
    expect([inbox.rows, inbox.total, inbox.unread]).toStrictEqual([[], 0, 0]);
  });
});

describe('formatting', () => {
  it('prints sizes and relative times', () => {
    expect([formatSize(512), formatSize(1536), formatSize(3 * 1024 * 1024)]).toStrictEqual(['512 B', '1.5 KB', '3.0 MB']);
    const now = Date.parse('2026-11-27T12:00:00Z');
    expect(
      ['2026-11-27T11:59:30Z', '2026-11-27T11:55:00Z', '2026-11-27T09:00:00Z', '2026-11-20T12:00:00Z'].map((t) => relativeTime(t, now)),
    ).toStrictEqual(['just now', '5 min ago', '3 h ago', '2026-11-20']);
  });
});
