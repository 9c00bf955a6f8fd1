import type { ImapMessage } from '../message.js';
import { parseSequenceSet, selectSorted } from '../wire/sequence-set.js';
import { DAY } from './dates.js';
import { factsOf, internalSeconds, MessageGone } from './message-facts.js';
import { entityTexts } from './message-text.js';
import type { Criterion, SearchContext, SearchRequest } from './types.js';

type Test = (index: number) => boolean;

/**
 * Rough cost of testing one message, so that AND tries flags and sets before
 * headers, and headers before bodies: the answer is the same in any order.
 * Whatever reads the message's text costs 2 or more, so that for a message
 * that is gone, AND and OR decide on flags, sets and dates first where
 * those suffice, before a text test finds the text missing.
 */
function cost(criterion: Criterion): number {
  switch (criterion.kind) {
    case 'and':
    case 'or':
      return Math.max(0, ...criterion.criteria.map(cost));
    case 'not':
      return cost(criterion.criterion);
    case 'date':
      return criterion.sent ? 2 : 1;
    case 'size':
      return 2;
    case 'age':
      return 1;
    case 'header':
      return 3;
    case 'text':
      return 4;
    default:
      return 0;
  }
}

/** Turns criteria into tests over one mailbox, sharing what several tests need. */
class Compiler {
  private uids: number[] | undefined;
  /** The time of the search, for RFC 5032 OLDER and YOUNGER. */
  private readonly now = Math.floor(Date.now() / 1000);

  constructor(private readonly ctx: SearchContext) {}

  private message(index: number): ImapMessage {
    return this.ctx.messages[index]!;
  }

  compile(criterion: Criterion): Test {
    switch (criterion.kind) {
      case 'all':
        return () => true;
      case 'and': {
        const tests = [...criterion.criteria].sort((a, b) => cost(a) - cost(b)).map((c) => this.compile(c));
        return (i) => tests.every((test) => test(i));
      }
      case 'or': {
        const tests = [...criterion.criteria].sort((a, b) => cost(a) - cost(b)).map((c) => this.compile(c));
        return (i) => tests.some((test) => test(i));
      }
      case 'not': {
        const test = this.compile(criterion.criterion);
        return (i) => !test(i);
      }
      case 'flag':
        return (i) => this.message(i).flags.has(criterion.flag);
      case 'keyword':
        return this.keyword(criterion.keyword);
      case 'recent':
        return (i) => this.ctx.isRecent(i);
      case 'set':
        return this.set(criterion.uid, criterion.set);
      case 'date':
        return this.date(criterion.sent, criterion.op, criterion.time);
      case 'age': {
        // OLDER n: at least n seconds old; YOUNGER n: at most (RFC 5032 §3).
        const limit = this.now - criterion.seconds;
        return criterion.op === 'older' ? (i) => internalSeconds(this.message(i)) <= limit : (i) => internalSeconds(this.message(i)) >= limit;
      }
      case 'size': {
        const { size } = criterion;
        const sizeOf = (i: number): number => factsOf(this.message(i)).rfc822Size();
        return criterion.op === 'larger' ? (i) => sizeOf(i) > size : (i) => sizeOf(i) < size;
      }
      case 'header': {
        const { field, mode, key } = criterion;
        return (i) => {
          const texts = factsOf(this.message(i)).headerTexts(field, mode);
          // An empty string asks only for the field (RFC 3501 §6.4.4 HEADER).
          return key === '' ? texts.length > 0 : texts.some((text) => text.includes(key));
        };
      }
      case 'text': {
        const { key, headers } = criterion;
        const acrossLines = key.includes('\n');
        return (i) =>
          entityTexts(this.message(i)).some(
            ({ head, body }) => body.includes(key) || (headers && (head.includes(key) || (acrossLines && (head + body).includes(key)))),
          );
      }
    }
  }

  /**
   * KEYWORD: keywords compare case-insensitively; a system flag is no
   * keyword, so KEYWORD \Seen matches nothing, as in Dovecot.
   */
  private keyword(keyword: string): Test {
    if (keyword.startsWith('\\')) return () => false;
    const wanted = keyword.toLowerCase();
    return (i) => {
      for (const flag of this.message(i).flags) if (!flag.startsWith('\\') && flag.toLowerCase() === wanted) return true;
      return false;
    };
  }

  /** Sequence numbers or UIDs in a set, `*` being the last one in use (RFC 3501 §9 seq-number). */
  private set(uid: boolean, text: string): Test {
    const count = this.ctx.messages.length;
    const member = new Uint8Array(count);
    if (uid) {
      const uids = (this.uids ??= this.ctx.messages.map((message) => message.uid));
      const ranges = parseSequenceSet(text, uids[count - 1] ?? 0) ?? [];
      for (const index of selectSorted(uids, ranges)) member[index] = 1;
    } else {
      for (const [lo, hi] of parseSequenceSet(text, count) ?? []) member.fill(1, Math.max(lo, 1) - 1, Math.min(hi, count));
    }
    return (i) => member[i] === 1;
  }

  /**
   * BEFORE, ON, SINCE compare INTERNALDATE's day; the SENT* keys compare the
   * Date: field's day in its own zone, "disregarding time and timezone"
   * (RFC 3501 §6.4.4). RFC 3501 does not say what a message without a
   * readable Date: field is sent before or since; Dovecot reads it as
   * 1 Jan 1970, and so do we. INTERNALDATE days are UTC days.
   */
  private date(sent: boolean, op: 'before' | 'on' | 'since', time: number): Test {
    const day = sent
      ? (i: number): number => {
          const date = factsOf(this.message(i)).sentDate();
          return date === null ? 0 : date.time + date.zone * 60;
        }
      : (i: number): number => internalSeconds(this.message(i));
    if (op === 'before') return (i) => day(i) < time;
    if (op === 'since') return (i) => day(i) >= time;
    return (i) => {
      const d = day(i);
      return d >= time && d < time + DAY;
    };
  }
}

/**
 * The 0-based indexes of the messages matching a search, ascending. A gone
 * message whose result depends on its text matches nothing, and
 * `ctx.onUnknown` hears of it, as Dovecot leaves such a message out and
 * answers OK [EXPUNGEISSUED].
 */
export function runSearch(request: SearchRequest, ctx: SearchContext): number[] {
  const test = new Compiler(ctx).compile(request.criteria);
  const hits: number[] = [];
  for (let i = 0; i < ctx.messages.length; i++) {
    try {
      if (test(i)) hits.push(i);
    } catch (error) {
      if (!(error instanceof MessageGone)) throw error;
      ctx.onUnknown?.(i);
    }
  }
  return hits;
}
