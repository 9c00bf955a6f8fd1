import type { StoredMessage } from '../store/types.js';

const LF = 0x0a;
const CR = 0x0d;

/** The octet count RFC 1939 §5 LIST reports: the message with CRLF line ends. */
export function wireSize(raw: Buffer): number {
  let bare = 0;
  for (let i = raw.indexOf(LF); i >= 0; i = raw.indexOf(LF, i + 1)) if (i === 0 || raw[i - 1] !== CR) bare += 1;
  return raw.length + bare;
}

/** Stored bytes never change, so each message's wire size is counted once, not at every login. */
const wireSizes = new WeakMap<StoredMessage, number>();

export function wireSizeOf(message: StoredMessage): number {
  let size = wireSizes.get(message);
  if (size === undefined) {
    size = wireSize(message.raw);
    wireSizes.set(message, size);
  }
  return size;
}

/**
 * The maildrop of one session: a snapshot taken at login, numbered 1..n
 * (RFC 1939 §4), with deletion marks that only QUIT carries out.
 *
 * It holds no message, only what LIST, UIDL and STAT answer from: the id,
 * the wire size and the mark. RETR and TOP read the bytes from the store, so
 * a message deleted or evicted since login is freed, whoever still lists it.
 * Per message that is an 8-byte reference to the store's id string, 8 bytes
 * of size and 1 byte of mark; once the store has let a message go, its id
 * (16 characters, about 32 bytes) is this snapshot's alone: at most ~50 bytes
 * per message, 0.5 MB for a session over 10,000 messages.
 */
export class Maildrop {
  readonly count: number;
  private readonly ids: string[];
  /** Float64, not Uint32: a wire size may pass 4 GiB with --max-message-size that large. */
  private readonly sizes: Float64Array;
  private readonly marks: Uint8Array;
  private liveCount: number;
  private liveOctets = 0;

  constructor(messages: readonly StoredMessage[]) {
    this.count = messages.length;
    this.liveCount = messages.length;
    this.ids = new Array<string>(messages.length);
    this.sizes = new Float64Array(messages.length);
    this.marks = new Uint8Array(messages.length);
    messages.forEach((message, i) => {
      this.ids[i] = message.id;
      this.sizes[i] = wireSizeOf(message);
      this.liveOctets += this.sizes[i]!;
    });
  }

  /** Messages not marked deleted. */
  get live(): number {
    return this.liveCount;
  }

  /** Their wire octets, for STAT. */
  get liveSize(): number {
    return this.liveOctets;
  }

  /** The index of the message a message-number argument names, or why there is none. */
  find(arg: string | undefined): number | string {
    if (arg === undefined || !/^\d{1,9}$/.test(arg)) return 'Invalid message number';
    const index = Number(arg) - 1;
    if (index < 0 || index >= this.count) return `No message ${arg}`;
    if (this.marks[index] === 1) return `Message ${arg} is deleted`;
    return index;
  }

  id(index: number): string {
    return this.ids[index]!;
  }

  size(index: number): number {
    return this.sizes[index]!;
  }

  deleted(index: number): boolean {
    return this.marks[index] === 1;
  }

  mark(index: number): void {
    if (this.marks[index] === 1) return;
    this.marks[index] = 1;
    this.liveCount -= 1;
    this.liveOctets -= this.sizes[index]!;
  }

  unmarkAll(): void {
    this.marks.fill(0);
    this.liveCount = this.count;
    this.liveOctets = this.sizes.reduce((sum, size) => sum + size, 0);
  }

  /** The ids of the messages marked deleted. */
  marked(): string[] {
    return this.ids.filter((_, i) => this.marks[i] === 1);
  }
}
