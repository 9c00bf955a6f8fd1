import { isIPv6 } from 'node:net';

export interface ThrottleOptions {
  /** Wait before the attempt after the first failure; each further failure doubles it. */
  baseMs: number;
  /** The longest wait between two attempts. */
  maxMs: number;
  /** Failures older than this are forgotten. */
  forgetMs: number;
  /** Addresses remembered at most; the longest quiet ones are forgotten first. */
  maxTracked: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { baseMs: 100, maxMs: 10_000, forgetMs: 15 * 60_000, maxTracked: 10_000 };

interface Record {
  failures: number;
  /** Epoch ms before which this address gets no answer to a login. */
  nextAt: number;
  lastFailure: number;
  /** Slots given to attempts not yet checked (in the future), ascending. */
  waiting: number[];
}

/**
 * Slows password guessing by client address, across every protocol that
 * checks passwords (IMAP, POP3, POP2, SMTP AUTH, HTTP basic auth).
 *
 * Every attempt from an address with recent failures waits its turn, and each
 * attempt takes the next slot, so parallel connections from one address are
 * served one at a time: the guess rate of an address falls to one per wait,
 * and the wait doubles with each failure. Successes wait too, so a client
 * cannot tell a failure by its slower answer. Failures are forgotten after
 * `forgetMs`, not at a success: an attacker who owns one account must not be
 * able to wipe the count by logging in to it.
 */
export class LoginThrottle {
  private readonly records = new Map<string, Record>();

  constructor(private readonly options: ThrottleOptions = DEFAULT_THROTTLE) {}

  /** Resolves when an attempt from `address` may be checked. */
  admit(address: string | undefined, now = Date.now()): Promise<void> {
    const wait = this.reserve(address, now);
    return wait === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, wait).unref());
  }

  /** Milliseconds the attempt must wait; taking its slot pushes the next attempt back. */
  reserve(address: string | undefined, now = Date.now()): number {
    const record = this.current(address, now);
    if (record === undefined) return 0;
    while (record.waiting.length > 0 && record.waiting[0]! <= now) record.waiting.shift();
    const at = Math.max(now, record.nextAt);
    // Attempts waiting ahead of this one will likely fail too, so the gap after it is the one
    // it would get after all of them: parallel guesses are spaced as sequential ones are.
    record.nextAt = at + this.delay(record.failures + record.waiting.length + 1);
    if (at > now) record.waiting.push(at);
    return at - now;
  }

  failed(address: string | undefined, now = Date.now()): void {
    const key = addressKey(address);
    const record = this.current(address, now) ?? { failures: 0, nextAt: now, lastFailure: now, waiting: [] };
    record.failures += 1;
    record.lastFailure = now;
    record.nextAt = Math.max(record.nextAt, now + this.delay(record.failures));
    // Re-inserted, so the map's order is the order of last failure and the oldest leave first.
    this.records.delete(key);
    this.records.set(key, record);
    for (const oldest of this.records.keys()) {
      if (this.records.size <= this.options.maxTracked) break;
      this.records.delete(oldest);
    }
  }

  /** Failures on record for an address, for tests and logs. */
  failures(address: string | undefined, now = Date.now()): number {
    return this.current(address, now)?.failures ?? 0;
  }

  private current(address: string | undefined, now: number): Record | undefined {
    const key = addressKey(address);
    const record = this.records.get(key);
    if (record !== undefined && now - record.lastFailure > this.options.forgetMs) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  private delay(failures: number): number {
    if (failures === 0) return 0;
    return Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(failures - 1, 30));
  }
}

/**
 * One key per client: an IPv4 address, or an IPv6 /64, since one host is
 * usually given a whole /64 and could otherwise guess from each of its addresses.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '';
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (!isIPv6(plain)) return plain;
  return expandIPv6(plain).slice(0, 4).join(':') + '::/64';
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
