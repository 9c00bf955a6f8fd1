import type { Mailbox } from './mailbox/mailbox.js';
import type { ImapMessage } from './message.js';
import { parseSequenceSet, selectSorted } from './wire/sequence-set.js';
import { flagList } from './fetch/flags.js';

/**
 * A session that has not been told of this many expunges (it sends only
 * FETCH, STORE, SEARCH and the like, which may not carry EXPUNGE) hears of
 * no more new mail until it may be told: each message it knows costs it a
 * little memory (its bytes are not kept), and an unreported expunge cannot
 * be forgotten. So a session knows of at most about this many messages
 * beyond those the store holds.
 */
const MAX_UNREPORTED_EXPUNGES = 10_000;

/**
 * One session's view of its selected mailbox (RFC 3501 §2.3.1.2): its own
 * sequence numbers, which change only when this session is told of a change.
 *
 * Changes from anywhere arrive as mailbox events and wait here until the
 * session may report them (`flush`): EXPUNGE only where RFC 3501 §7.4.1
 * allows (not while no command runs, nor during FETCH, STORE or SEARCH), so
 * until then an expunged message keeps its number, its UID, flags and
 * internal date, but not its bytes (RFC 2180 §4.1.3; see the FETCH command);
 * EXISTS and flag changes at the end of any command and at once during IDLE.
 */
export class SelectedMailbox {
  private entries: ImapMessage[];
  private uidsCache: number[] | null = null;
  private readonly recent = new Set<ImapMessage>();
  private pendingNew: ImapMessage[] = [];
  private readonly pendingExpunge = new Set<ImapMessage>();
  private readonly pendingFlags = new Set<ImapMessage>();
  /** Called whenever something is queued, so an IDLE session can report it at once. */
  onChange: (() => void) | null = null;

  private readonly onExists = (message: ImapMessage): void => {
    this.pendingNew.push(message);
    this.claimRecent(message);
    this.onChange?.();
  };
  private readonly onFlags = (message: ImapMessage, source: object | null): void => {
    // The session that changed them reports them itself (or, with .SILENT, not at all: RFC 3501 §6.4.6).
    if (source === this.owner) return;
    if (this.indexOf(message) < 0 && !this.pendingNew.includes(message)) return;
    this.pendingFlags.add(message);
    this.onChange?.();
  };
  private readonly onExpunge = (messages: readonly ImapMessage[]): void => {
    for (const message of messages) {
      const fresh = this.pendingNew.indexOf(message);
      if (fresh >= 0) {
        // Never announced, so never counted: RECENT must not outgrow EXISTS.
        this.pendingNew.splice(fresh, 1);
        this.recent.delete(message);
      } else if (this.indexOf(message) >= 0) this.pendingExpunge.add(message);
    }
    this.onChange?.();
  };
  private readonly onReset = (): void => {
    for (const message of this.pendingNew) this.recent.delete(message);
    this.pendingNew = [];
    for (const message of this.entries) this.pendingExpunge.add(message);
    this.onChange?.();
  };

  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    private readonly owner: object,
  ) {
    mailbox.open();
    this.entries = mailbox.messages();
    for (const message of this.entries) this.claimRecent(message);
    mailbox.events.on('exists', this.onExists).on('flags', this.onFlags).on('expunge', this.onExpunge).on('reset', this.onReset);
  }

  close(): void {
    this.mailbox.events.off('exists', this.onExists).off('flags', this.onFlags).off('expunge', this.onExpunge).off('reset', this.onReset);
    this.mailbox.close();
  }

  /** The messages by sequence number (index + 1). */
  get messages(): readonly ImapMessage[] {
    return this.entries;
  }

  get recentCount(): number {
    return this.recent.size;
  }

  isRecent(message: ImapMessage): boolean {
    return this.recent.has(message);
  }

  /** Whether this message was expunged elsewhere and the session has not been told yet. */
  isExpunged(message: ImapMessage): boolean {
    return this.pendingExpunge.has(message);
  }

  /** Sequence number of a message this session knows, or 0. */
  seqOf(message: ImapMessage): number {
    return this.indexOf(message) + 1;
  }

  get uids(): readonly number[] {
    this.uidsCache ??= this.entries.map((m) => m.uid);
    return this.uidsCache;
  }

  /**
   * The indexes a sequence set (or UID set) names, ascending. Sequence numbers
   * past the end are an error (RFC 3501 §9 says they are "invalid"); UIDs
   * that do not exist are simply not matched (RFC 3501 §6.4.8).
   */
  resolve(set: string, byUid: boolean): number[] | null {
    if (byUid) {
      const uids = this.uids;
      const ranges = parseSequenceSet(set, uids.length > 0 ? uids[uids.length - 1]! : 0);
      return ranges === null ? null : selectSorted(uids, ranges);
    }
    const count = this.entries.length;
    const ranges = parseSequenceSet(set, count);
    if (ranges === null) return null;
    // An empty mailbox has no numbers to be out of range: `1:*` names nothing there, as in UID sets.
    if (count === 0) return [];
    if (ranges.some(([, hi]) => hi > count || hi === 0)) return null;
    const out: number[] = [];
    for (const [lo, hi] of ranges) for (let n = lo; n <= hi; n++) out.push(n - 1);
    return out;
  }

  /** Reports what is pending, as untagged lines; EXPUNGE only when allowed. */
  flush(allowExpunge: boolean): string[] {
    const lines: string[] = [];
    if (allowExpunge && this.pendingExpunge.size > 0) {
      const kept: ImapMessage[] = [];
      let removed = 0;
      this.entries.forEach((message, index) => {
        if (!this.pendingExpunge.has(message)) return void kept.push(message);
        // Each EXPUNGE renumbers what follows, so later numbers drop by those already sent.
        lines.push(`* ${index + 1 - removed} EXPUNGE`);
        removed += 1;
        this.recent.delete(message);
        this.pendingFlags.delete(message);
      });
      this.entries = kept;
      this.uidsCache = null;
      this.pendingExpunge.clear();
    }
    if (this.pendingNew.length > 0 && this.pendingExpunge.size < MAX_UNREPORTED_EXPUNGES) {
      this.entries = this.entries.concat(this.pendingNew);
      this.pendingNew = [];
      this.uidsCache = null;
      lines.push(`* ${this.entries.length} EXISTS`, `* ${this.recent.size} RECENT`);
    }
    for (const message of this.pendingFlags) {
      const seq = this.seqOf(message);
      if (seq > 0) lines.push(`* ${seq} FETCH (FLAGS (${flagList(message.flags, this.recent.has(message))}))`);
    }
    this.pendingFlags.clear();
    return lines;
  }

  private claimRecent(message: ImapMessage): void {
    if (message.uid <= this.mailbox.recentUpTo) return;
    // A read-only session sees \Recent without taking it from others (RFC 3501 §6.3.2), as in Dovecot.
    if (!this.readOnly) this.mailbox.recentUpTo = message.uid;
    this.recent.add(message);
  }

  private indexOf(message: ImapMessage): number {
    const uids = this.uids;
    let lo = 0;
    let hi = uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (uids[mid]! < message.uid) lo = mid + 1;
      else hi = mid;
    }
    return this.entries[lo] === message ? lo : -1;
  }
}
