import { EventEmitter } from 'node:events';
import { digestMessage } from '../mime/digest.js';
import { autoTags, type AutoTagSource } from './auto-tags.js';
import { IdGenerator } from './ids.js';
import type { RestoredState, StoreJournal } from './journal.js';
import { StoreCapacityError, type MessageFilter, type Page, type Store, type StorePersistence } from './store.js';
import { hasTag, isTag, TagIndex, tagsOf } from './tags.js';
import { SEEN, type IncomingMessage, type StoredMessage, type StoreEvents, type StoreLimits } from './types.js';

/** Shared by every message without flags; a message gets a set of its own on its first change. */
const NO_FLAGS: ReadonlySet<string> = new Set();

interface Entry extends StoredMessage {
  flags: ReadonlySet<string>;
  /** Index in `slots`; kept current by compaction. */
  slot: number;
}

export interface StoreOptions {
  /** Where new messages take tags from; none unless given. */
  autoTags?: ReadonlySet<AutoTagSource>;
  /** Writes every change before it is answered (the data directory); memory only without. */
  journal?: StoreJournal;
  /** What the journal loaded at start. */
  restored?: RestoredState;
  /** For a new store: IMAP folders get theirs from the IMAP layer, which never repeats one. */
  uidValidity?: number;
}

/**
 * The store every protocol and the API share, held in memory and, with a
 * journal, written to disk before each change is answered.
 *
 * Messages sit in arrival order in `slots`; removal leaves a hole that is
 * compacted away once holes make up half the array or before an ordered read,
 * so inserts, deletes and evictions are amortised O(1) and a listing is one
 * pass at most: nothing is quadratic in the number of stored messages.
 */
export class MessageStore implements Store {
  readonly events = new EventEmitter<StoreEvents>();
  readonly uidValidity: number;
  private readonly journal: StoreJournal | null;
  /** Journal writes nobody waits for (the removal of evicted messages), finished by `close`. */
  private readonly background = new Set<Promise<void>>();
  private readonly ids = new IdGenerator();
  private readonly byId = new Map<string, Entry>();
  private slots: (Entry | undefined)[] = [];
  private holes = 0;
  /** No live entry sits before this slot; eviction starts here. */
  private head = 0;
  private nextUid = 1;
  /** Above every uid applied: what IMAP reports as UIDNEXT, never a uid a pending (and perhaps failing) write holds. */
  private appliedNext = 1;
  private totalBytes = 0;
  private unreadCount = 0;
  private readonly tagIndex = new TagIndex();
  private readonly autoTagSources: ReadonlySet<AutoTagSource>;

  constructor(
    readonly limits: StoreLimits,
    options: StoreOptions = {},
  ) {
    this.autoTagSources = options.autoTags ?? new Set();
    this.journal = options.journal ?? null;
    // Every IMAP session, waiter and socket bridge listens here.
    this.events.setMaxListeners(0);
    const restored = options.restored;
    this.uidValidity = restored?.uidValidity ?? options.uidValidity ?? Math.floor(Date.now() / 1000);
    if (restored !== undefined) this.restore(restored);
  }

  get persistence(): StorePersistence | null {
    return this.journal?.persistence ?? null;
  }

  get size(): number {
    return this.byId.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The uid the next message will get: above every uid given so far (IMAP's UIDNEXT). */
  get uidNext(): number {
    return this.appliedNext;
  }

  get unread(): number {
    return this.unreadCount;
  }

  /**
   * Keeps a message and announces it once the journal has it, so by the time
   * SMTP answers 250 the message is stored. Journal writes complete in the
   * order they were asked for, so messages are applied in uid order.
   */
  async add(incoming: IncomingMessage): Promise<StoredMessage> {
    const { raw } = incoming;
    if (raw.length > this.limits.maxBytes) throw new StoreCapacityError(raw.length, this.limits.maxBytes);
    const digest = incoming.digest ?? digestMessage(raw);
    const given = incoming.flags ?? [];
    const tags = this.autoTagSources.size > 0 ? autoTags(digest, incoming.envelope, this.autoTagSources) : [];
    const flags = given.length + tags.length > 0 ? this.withFlags(NO_FLAGS, [...given, ...tags], []) : NO_FLAGS;
    const entry: Entry = {
      id: this.ids.next(),
      uid: this.nextUid++,
      raw,
      envelope: incoming.envelope,
      smtp: incoming.smtp,
      receivedAt: incoming.receivedAt ?? Date.now(),
      digest,
      flags,
      slot: 0,
    };
    if (this.journal !== null) await this.journal.add(entry);
    this.appliedNext = Math.max(this.appliedNext, entry.uid + 1);
    entry.slot = this.slots.length;
    this.slots.push(entry);
    this.byId.set(entry.id, entry);
    this.totalBytes += raw.length;
    if (!entry.flags.has(SEEN)) this.unreadCount += 1;
    this.tagIndex.count(entry.flags, 1);
    const evicted = this.evict();
    if (evicted.length > 0) {
      this.events.emit('delete', evicted);
      this.inBackground(this.journal?.remove(evicted));
    }
    this.events.emit('new', entry);
    return entry;
  }

  get(id: string): StoredMessage | undefined {
    return this.byId.get(id);
  }

  page(filter: MessageFilter | null, offset: number, limit: number): Page {
    const ordered = this.ordered();
    if (filter === null) {
      const end = Math.max(0, ordered.length - offset);
      const messages = ordered.slice(Math.max(0, end - limit), end).reverse();
      return { total: ordered.length, unread: this.unreadCount, messages };
    }
    const messages: StoredMessage[] = [];
    let total = 0;
    let unread = 0;
    for (let i = ordered.length - 1; i >= 0; i--) {
      const entry = ordered[i]!;
      if (!filter(entry)) continue;
      if (total >= offset && messages.length < limit) messages.push(entry);
      total += 1;
      if (!entry.flags.has(SEEN)) unread += 1;
    }
    return { total, unread, messages };
  }

  all(): StoredMessage[] {
    return this.ordered().slice();
  }

  since(uid: number, filter: MessageFilter | null): StoredMessage[] {
    const ordered = this.ordered();
    const found: StoredMessage[] = [];
    // uids ascend with position, so the scan starts at the first newer message.
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ordered[mid]!.uid <= uid) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ordered.length; i++) {
      const entry = ordered[i]!;
      if (filter === null || filter(entry)) found.push(entry);
    }
    return found;
  }

  setRead(id: string, read: boolean): Promise<StoredMessage | undefined> {
    return read ? this.updateFlags(id, [SEEN], []) : this.updateFlags(id, [], [SEEN]);
  }

  /**
   * Applied at once (so concurrent changes never undo each other), then
   * written; emits `update` only when something changed. A change the
   * journal cannot write is taken back, unless another came after it.
   */
  async updateFlags(id: string, add: readonly string[], remove: readonly string[], origin?: object): Promise<StoredMessage | undefined> {
    const previous = this.byId.get(id)?.flags;
    const entry = this.applyFlags(id, add, remove, origin ?? null);
    if (entry === undefined || this.journal === null || entry.flags === previous) return entry;
    const applied = entry.flags;
    try {
      await this.journal.flags(entry);
    } catch (error) {
      if (this.byId.get(id) === entry && entry.flags === applied) this.setFlags(entry, previous!, null);
      throw error;
    }
    return entry;
  }

  async setTags(id: string, tags: readonly string[]): Promise<StoredMessage | undefined> {
    const entry = this.byId.get(id);
    return entry && this.updateFlags(id, tags, tagsOf(entry));
  }

  tags(): { name: string; count: number }[] {
    return this.tagIndex.list();
  }

  hasTag(name: string): boolean {
    return this.tagIndex.has(name);
  }

  async renameTag(from: string, to: string): Promise<number> {
    const carriers = this.carriersOf(from);
    this.tagIndex.respell(from, to);
    await Promise.all(carriers.map((entry) => this.updateFlags(entry.id, [to], [from])));
    return carriers.length;
  }

  async deleteTag(name: string): Promise<number> {
    const carriers = this.carriersOf(name);
    await Promise.all(carriers.map((entry) => this.updateFlags(entry.id, [], [name])));
    return carriers.length;
  }

  /** Written first, so a delete that cannot be written changes nothing. */
  async delete(ids: Iterable<string>): Promise<StoredMessage[]> {
    const found = [...new Set(ids)].flatMap((id) => this.byId.get(id) ?? []);
    if (found.length === 0) return [];
    if (this.journal !== null) await this.journal.remove(found);
    return this.removeEntries(found);
  }

  /** Takes entries out of memory; another delete may have taken some while this one was written. */
  private removeEntries(entries: readonly Entry[]): StoredMessage[] {
    const removed = entries.filter((entry) => this.detach(entry));
    if (removed.length > 0) {
      this.maybeCompact();
      this.events.emit('delete', removed);
    }
    return removed;
  }

  /** Every message stored when it is called; one that arrives while the clear is written stays. */
  async clear(): Promise<void> {
    const upToUid = this.slots.reduce((last, entry) => entry?.uid ?? last, 0);
    if (this.journal !== null) await this.journal.clear(upToUid);
    if (this.since(upToUid, null).length > 0) {
      // Mail arrived while the clear was written: it stays, and the rest goes as a delete (the clear is on disk already).
      this.removeEntries(this.ordered().filter((entry) => entry.uid <= upToUid));
      return;
    }
    this.byId.clear();
    this.slots = [];
    this.holes = 0;
    this.head = 0;
    this.totalBytes = 0;
    this.unreadCount = 0;
    this.tagIndex.clear();
    this.events.emit('clear');
  }

  async close(): Promise<void> {
    await Promise.all(this.background);
    await this.journal?.close();
  }

  private applyFlags(id: string, add: readonly string[], remove: readonly string[], origin: object | null): Entry | undefined {
    const entry = this.byId.get(id);
    if (!entry) return undefined;
    const previous = entry.flags;
    const flags = this.withFlags(previous, add, remove);
    if (flags.size === previous.size && [...flags].every((flag) => previous.has(flag))) return entry;
    this.setFlags(entry, flags, origin);
    return entry;
  }

  private setFlags(entry: Entry, flags: ReadonlySet<string>, origin: object | null): void {
    const previous = entry.flags;
    const wasRead = previous.has(SEEN);
    entry.flags = flags;
    this.tagIndex.count(previous, -1);
    this.tagIndex.count(flags, 1);
    const isRead = flags.has(SEEN);
    if (wasRead !== isRead) this.unreadCount += isRead ? -1 : 1;
    this.events.emit('update', entry, previous, origin);
  }

  /** Loads what the journal found, oldest first, before anyone reads; limits apply as they would have on arrival. */
  private restore(state: RestoredState): void {
    for (const message of state.messages) {
      const entry: Entry = { ...message, digest: message.digest ?? digestMessage(message.raw), flags: message.flags.size === 0 ? NO_FLAGS : message.flags, slot: this.slots.length };
      this.slots.push(entry);
      this.byId.set(entry.id, entry);
      this.totalBytes += entry.raw.length;
      if (!entry.flags.has(SEEN)) this.unreadCount += 1;
      this.tagIndex.count(entry.flags, 1);
    }
    this.nextUid = state.uidNext;
    this.appliedNext = state.uidNext;
    const evicted = this.evict();
    if (evicted.length > 0) this.inBackground(this.journal?.remove(evicted));
  }

  /** A write no reply waits for: a failure is the journal's to log, and `close` waits for it. */
  private inBackground(write: Promise<void> | undefined): void {
    if (write === undefined) return;
    const tracked = write.catch(() => undefined).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private carriersOf(tag: string): Entry[] {
    if (!this.tagIndex.has(tag)) return [];
    const lower = tag.toLowerCase();
    return this.ordered().filter((entry) => hasTag(entry, lower));
  }

  private withFlags(current: ReadonlySet<string>, add: readonly string[], remove: readonly string[]): Set<string> {
    const flags = new Set(current);
    const removedTags = new Set<string>();
    for (const flag of remove) {
      if (isTag(flag)) removedTags.add(flag.toLowerCase());
      else flags.delete(flag);
    }
    if (removedTags.size > 0) for (const flag of flags) if (isTag(flag) && removedTags.has(flag.toLowerCase())) flags.delete(flag);
    for (const flag of add) {
      if (!isTag(flag)) flags.add(flag);
      else if (!hasTag({ flags }, flag.toLowerCase())) flags.add(this.tagIndex.spelling(flag));
    }
    return flags;
  }

  private detach(entry: Entry): boolean {
    if (this.slots[entry.slot] !== entry) return false;
    this.slots[entry.slot] = undefined;
    this.holes += 1;
    this.byId.delete(entry.id);
    this.totalBytes -= entry.raw.length;
    if (!entry.flags.has(SEEN)) this.unreadCount -= 1;
    this.tagIndex.count(entry.flags, -1);
    return true;
  }

  private evict(): StoredMessage[] {
    const evicted: StoredMessage[] = [];
    while (this.byId.size > this.limits.maxMessages || this.totalBytes > this.limits.maxBytes) {
      while (this.slots[this.head] === undefined) this.head += 1;
      const oldest = this.slots[this.head]!;
      this.detach(oldest);
      evicted.push(oldest);
    }
    if (evicted.length > 0) this.maybeCompact();
    return evicted;
  }

  private maybeCompact(): void {
    if (this.holes > 64 && this.holes * 2 > this.slots.length) this.compact();
  }

  private compact(): void {
    const dense: Entry[] = [];
    for (const entry of this.slots) {
      if (entry === undefined) continue;
      entry.slot = dense.length;
      dense.push(entry);
    }
    this.slots = dense;
    this.holes = 0;
    this.head = 0;
  }

  private ordered(): readonly Entry[] {
    if (this.holes > 0) this.compact();
    return this.slots as Entry[];
  }
}
