import { EventEmitter } from 'node:events';
import { digestMessage } from '../mime/digest.js';
import { autoTags, type AutoTagSource } from './auto-tags.js';
import { IdGenerator } from './ids.js';
import { hasTag, isTag, TagIndex, tagsOf } from './tags.js';
import { SEEN, type IncomingMessage, type StoredMessage, type StoreEvents, type StoreLimits } from './types.js';

/** A message larger than the whole store cannot be kept; the capture must refuse it. */
export class StoreCapacityError extends Error {
  constructor(size: number, maxBytes: number) {
    super(`message of ${size} bytes exceeds the store's capacity of ${maxBytes} bytes`);
  }
}

/** Shared by every message without flags; a message gets a set of its own on its first change. */
const NO_FLAGS: ReadonlySet<string> = new Set();

interface Entry extends StoredMessage {
  flags: ReadonlySet<string>;
  /** Index in `slots`; kept current by compaction. */
  slot: number;
}

export interface Page {
  total: number;
  unread: number;
  messages: StoredMessage[];
}

export type MessageFilter = (message: StoredMessage) => boolean;

export interface StoreOptions {
  /** Where new messages take tags from; none unless given. */
  autoTags?: ReadonlySet<AutoTagSource>;
}

/**
 * The one in-memory store every protocol and the API share.
 *
 * Messages sit in arrival order in `slots`; removal leaves a hole that is
 * compacted away once holes make up half the array or before an ordered read,
 * so inserts, deletes and evictions are amortised O(1) and a listing is one
 * pass at most: nothing is quadratic in the number of stored messages.
 */
export class MessageStore {
  readonly events = new EventEmitter<StoreEvents>();
  private readonly ids = new IdGenerator();
  private readonly byId = new Map<string, Entry>();
  private slots: (Entry | undefined)[] = [];
  private holes = 0;
  /** No live entry sits before this slot; eviction starts here. */
  private head = 0;
  private nextUid = 1;
  private totalBytes = 0;
  private unreadCount = 0;
  private readonly tagIndex = new TagIndex();
  private readonly autoTagSources: ReadonlySet<AutoTagSource>;

  constructor(
    readonly limits: StoreLimits,
    options: StoreOptions = {},
  ) {
    this.autoTagSources = options.autoTags ?? new Set();
    // Every IMAP session, waiter and socket bridge listens here.
    this.events.setMaxListeners(0);
  }

  get size(): number {
    return this.byId.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The uid the next message will get: above every uid given so far (IMAP's UIDNEXT). */
  get uidNext(): number {
    return this.nextUid;
  }

  get unread(): number {
    return this.unreadCount;
  }

  /**
   * Keeps a message and announces it. Synchronous, so that by the time SMTP
   * answers 250 the message is stored.
   */
  add(incoming: IncomingMessage): StoredMessage {
    const { raw } = incoming;
    if (raw.length > this.limits.maxBytes) throw new StoreCapacityError(raw.length, this.limits.maxBytes);
    const digest = digestMessage(raw);
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
      slot: this.slots.length,
    };
    this.slots.push(entry);
    this.byId.set(entry.id, entry);
    this.totalBytes += raw.length;
    if (!entry.flags.has(SEEN)) this.unreadCount += 1;
    this.tagIndex.count(entry.flags, 1);
    const evicted = this.evict();
    if (evicted.length > 0) this.events.emit('delete', evicted);
    this.events.emit('new', entry);
    return entry;
  }

  get(id: string): StoredMessage | undefined {
    return this.byId.get(id);
  }

  /** Newest first, filtered, with totals over every match. */
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

  /** Every message in arrival order (a snapshot). */
  all(): StoredMessage[] {
    return this.ordered().slice();
  }

  /** Messages received after `uid` that pass the filter, oldest first. */
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

  setRead(id: string, read: boolean): StoredMessage | undefined {
    return read ? this.updateFlags(id, [SEEN], []) : this.updateFlags(id, [], [SEEN]);
  }

  /**
   * Changes flags, removals first; tags (keywords) compare ignoring case and
   * take the spelling already in use. Emits `update` only when something changed.
   */
  updateFlags(id: string, add: readonly string[], remove: readonly string[]): StoredMessage | undefined {
    const entry = this.byId.get(id);
    if (!entry) return undefined;
    const previous = entry.flags;
    const flags = this.withFlags(previous, add, remove);
    if (flags.size === previous.size && [...flags].every((flag) => previous.has(flag))) return entry;
    const wasRead = previous.has(SEEN);
    entry.flags = flags;
    this.tagIndex.count(previous, -1);
    this.tagIndex.count(flags, 1);
    const isRead = flags.has(SEEN);
    if (wasRead !== isRead) this.unreadCount += isRead ? -1 : 1;
    this.events.emit('update', entry, previous);
    return entry;
  }

  /** Replaces a message's tags, keeping its system flags. */
  setTags(id: string, tags: readonly string[]): StoredMessage | undefined {
    const entry = this.byId.get(id);
    return entry && this.updateFlags(id, tags, tagsOf(entry));
  }

  /** Every tag in use, with how many messages carry it, by name ignoring case. */
  tags(): { name: string; count: number }[] {
    return this.tagIndex.list();
  }

  hasTag(name: string): boolean {
    return this.tagIndex.has(name);
  }

  /** Renames a tag on every message that carries it (a change of case included); returns how many changed. */
  renameTag(from: string, to: string): number {
    const carriers = this.carriersOf(from);
    this.tagIndex.respell(from, to);
    for (const entry of carriers) this.updateFlags(entry.id, [to], [from]);
    return carriers.length;
  }

  /** Takes a tag off every message; returns how many changed. */
  deleteTag(name: string): number {
    const carriers = this.carriersOf(name);
    for (const entry of carriers) this.updateFlags(entry.id, [], [name]);
    return carriers.length;
  }

  /** Removes messages; unknown ids are skipped. Returns the messages removed. */
  delete(ids: Iterable<string>): StoredMessage[] {
    const removed: StoredMessage[] = [];
    for (const id of ids) {
      const entry = this.byId.get(id);
      if (entry && this.detach(entry)) removed.push(entry);
    }
    if (removed.length > 0) {
      this.maybeCompact();
      this.events.emit('delete', removed);
    }
    return removed;
  }

  clear(): void {
    this.byId.clear();
    this.slots = [];
    this.holes = 0;
    this.head = 0;
    this.totalBytes = 0;
    this.unreadCount = 0;
    this.tagIndex.clear();
    this.events.emit('clear');
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
