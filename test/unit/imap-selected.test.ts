import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parseFetch, renderFetch } from '../../server/src/imap/fetch/index.js';
import { InboxMailbox } from '../../server/src/imap/mailbox/inbox-mailbox.js';
import { Mailbox, type NewMessage } from '../../server/src/imap/mailbox/mailbox.js';
import type { ImapMessage } from '../../server/src/imap/message.js';
import { parseSearch, parseSort, runSearch, runSort } from '../../server/src/imap/search/index.js';
import { SelectedMailbox } from '../../server/src/imap/selected.js';
import { DEFAULT_LIMITS } from '../../server/src/imap/wire/limits.js';
import { parseCommand } from '../../server/src/imap/wire/parser.js';
import { MessageStore } from '../../server/src/store/message-store.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A mailbox whose messages come and go only as a test says, through the events sessions hear. */
class TestMailbox extends Mailbox {
  list: ImapMessage[] = [];
  private next = 1;

  get uidNext(): number {
    return this.next;
  }

  messages(): ImapMessage[] {
    return this.list.slice();
  }

  async append(message: NewMessage): Promise<ImapMessage> {
    const added: ImapMessage = { uid: this.next++, raw: message.raw, internalDate: message.internalDate, flags: new Set(message.flags), digest: null };
    this.list.push(added);
    this.events.emit('exists', added);
    return added;
  }

  async updateFlags(): Promise<void> {}

  async expunge(messages: readonly ImapMessage[]): Promise<void> {
    const gone = new Set(messages);
    this.list = this.list.filter((m) => !gone.has(m));
    this.events.emit('expunge', messages);
  }
}

const add = async (mailbox: TestMailbox, count: number): Promise<void> => {
  for (let i = 0; i < count; i++) await mailbox.append({ raw: Buffer.from('x'), flags: [], internalDate: 0 });
};

describe('SelectedMailbox', () => {
  it('stops announcing new mail past 10,000 unreported expunges, until the session may be told of them', async () => {
    const mailbox = new TestMailbox('INBOX', 1, null);
    await add(mailbox, 10_000);
    const view = new SelectedMailbox(mailbox, false, {});
    // Gone elsewhere; FETCH, STORE and SEARCH may not say so (RFC 3501 §7.4.1).
    await mailbox.expunge(mailbox.list.slice(0, 9_999));
    await add(mailbox, 1);
    expect(view.flush(false)).toStrictEqual(['* 10001 EXISTS', '* 10001 RECENT']);
    await mailbox.expunge(mailbox.list.slice(0, 1));
    await add(mailbox, 2);
    // Each known message costs the session memory: at 10,000 unreported expunges it learns of no more.
    expect(view.flush(false)).toStrictEqual([]);
    expect(view.messages).toHaveLength(10_001);
    const lines = view.flush(true);
    expect(lines).toHaveLength(10_000 + 2);
    expect(lines.slice(-3)).toStrictEqual(['* 1 EXPUNGE', '* 3 EXISTS', '* 3 RECENT']);
    expect(view.messages.map((m) => m.uid)).toStrictEqual([10_001, 10_002, 10_003]);
  });
});

const args = (command: string): ReturnType<typeof parseCommand>['args'] => parseCommand(Buffer.from(`A1 ${command}\r\n`), DEFAULT_LIMITS).args;

describe('INBOX as a session sees it', () => {
  it('keeps nothing of a message the store dropped, caches included, while the session still numbers it', async () => {
    const store = new MessageStore({ maxMessages: 2, maxBytes: 1 << 30 });
    const capture = async (subject: string): Promise<void> => {
      const raw = Buffer.from(`From: a@example.test\r\nSubject: ${subject}\r\n\r\nSome words about ${subject}.\r\n`);
      await store.add({ raw, envelope: { mailFrom: '', rcptTo: [] }, smtp: { helo: null, remoteAddress: null, authUser: null, tls: false } });
    };
    await capture('one');
    await capture('two');
    const view = new SelectedMailbox(new InboxMailbox(store, 'anyone'), false, {});
    const first = view.messages[0]!;
    // ENVELOPE and BODYSTRUCTURE, search facts and search text are all cached per message.
    const request = parseFetch(args('FETCH 1 (ENVELOPE BODYSTRUCTURE)').slice(1));
    if ('error' in request) throw new Error(request.error);
    renderFetch(first, 1, request, { uid: false, flags: false, recent: false });
    const ctx = { messages: view.messages, isRecent: () => false };
    const search = parseSearch(args('SEARCH TEXT words SUBJECT one'), { esearch: false });
    const sort = parseSort(args('SORT (SUBJECT FROM) UTF-8 ALL'));
    if ('error' in search || 'error' in sort) throw new Error('parse');
    expect(runSearch(search, ctx)).toStrictEqual([0]);
    expect(runSort(sort, ctx)).toStrictEqual([0, 1]);
    // Weak references only: the test must not keep the message alive itself.
    const watch = (): { id: string; refs: { stored: WeakRef<object>; raw: WeakRef<object>; digest: WeakRef<object> } } => {
      const stored = store.all()[0]!;
      return { id: stored.id, refs: { stored: new WeakRef(stored), raw: new WeakRef(stored.raw), digest: new WeakRef(stored.digest) } };
    };
    const { id, refs } = watch();

    await capture('three');
    expect(store.get(id)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect({ stored: refs.stored.deref(), raw: refs.raw.deref(), digest: refs.digest.deref() }).toStrictEqual({ stored: undefined, raw: undefined, digest: undefined });
    expect(view.messages[0]).toBe(first);
    expect(view.isExpunged(first)).toBe(true);
    expect({ uid: first.uid, raw: first.raw, digest: first.digest }).toStrictEqual({ uid: 1, raw: null, digest: null });
  });
});
