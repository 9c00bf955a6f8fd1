import { isUtf8 } from 'node:buffer';
import { isSequenceSet } from '../wire/sequence-set.js';
import { isAtom, type ImapValue } from '../wire/types.js';
import { casemap } from './casemap.js';
import { parseSearchDate } from './dates.js';
import { asciiLower } from '../../match/ascii-lower.js';
import type { HeaderMode } from './header-text.js';
import type { Criterion, ReturnOption, SearchError, SearchRequest, SystemFlag } from './types.js';

/**
 * How deep OR and parentheses may nest (NOT chains are counted, not nested).
 * The wire parser already stops lists at 100 levels, but `OR OR OR ...` is
 * flat on the wire; bounding it here keeps evaluation's recursion bounded.
 */
const MAX_DEPTH = 256;
/** Charsets a client may name (RFC 3501 §6.4.4 requires US-ASCII and UTF-8); both are read as UTF-8. */
const CHARSETS = ['US-ASCII', 'UTF-8'];

/** A parse failure: thrown while parsing, returned from the entry points by attempt(). */
export class SearchSyntaxError extends Error {
  constructor(
    message: string,
    readonly code?: 'BADCHARSET',
  ) {
    super(message);
  }
}

const FLAGS: Record<string, SystemFlag> = {
  ANSWERED: '\\Answered',
  DELETED: '\\Deleted',
  DRAFT: '\\Draft',
  FLAGGED: '\\Flagged',
  SEEN: '\\Seen',
};
const HEADER_KEYS: Record<string, { field: string; mode: HeaderMode }> = {
  BCC: { field: 'bcc', mode: 'address' },
  CC: { field: 'cc', mode: 'address' },
  FROM: { field: 'from', mode: 'address' },
  TO: { field: 'to', mode: 'address' },
  SUBJECT: { field: 'subject', mode: 'subject' },
};
const DATE_KEYS: Record<string, { sent: boolean; op: 'before' | 'on' | 'since' }> = {
  BEFORE: { sent: false, op: 'before' },
  ON: { sent: false, op: 'on' },
  SINCE: { sent: false, op: 'since' },
  SENTBEFORE: { sent: true, op: 'before' },
  SENTON: { sent: true, op: 'on' },
  SENTSINCE: { sent: true, op: 'since' },
};
const ALL: Criterion = { kind: 'all' };
const RECENT: Criterion = { kind: 'recent' };

/** Reads search keys from a list of command arguments. */
class KeyReader {
  private pos = 0;

  constructor(private readonly values: readonly ImapValue[]) {}

  get done(): boolean {
    return this.pos >= this.values.length;
  }

  peekAtom(word: string): boolean {
    return isAtom(this.values[this.pos], word);
  }

  /** An astring argument's bytes (RFC 3501 §9: atom or string). */
  astring(what: string): Buffer {
    const value = this.values[this.pos++];
    if (value?.type === 'string') return value.value;
    if (value !== undefined && isAtom(value)) return Buffer.from(value.value, 'latin1');
    throw new SearchSyntaxError(`Missing or invalid ${what}`);
  }

  /** A string to search for, checked as UTF-8 and casemapped. */
  key(): string {
    const bytes = this.astring('search string');
    if (!isUtf8(bytes)) throw new SearchSyntaxError('Search string is not valid UTF-8');
    return casemap(bytes.toString('utf8'));
  }

  number(what: string, max: bigint): number {
    const text = this.astring(what).toString('latin1');
    if (!/^\d{1,20}$/.test(text) || BigInt(text) > max) throw new SearchSyntaxError(`Invalid ${what}`);
    return Number(text);
  }

  date(): number {
    const time = parseSearchDate(this.astring('date').toString('latin1'));
    if (time === null) throw new SearchSyntaxError('Invalid search date');
    return time;
  }

  /** One search key, inside `depth` levels of OR and lists. */
  criterion(depth: number): Criterion {
    // NOT NOT ... is counted rather than recursed into.
    let negations = 0;
    while (this.peekAtom('NOT')) {
      this.pos++;
      negations++;
    }
    if (depth > MAX_DEPTH) throw new SearchSyntaxError('Search keys nested too deeply');
    const inner = this.plainCriterion(depth);
    return negations % 2 === 1 ? { kind: 'not', criterion: inner } : inner;
  }

  private plainCriterion(depth: number): Criterion {
    const value = this.values[this.pos++];
    if (value === undefined) throw new SearchSyntaxError('Missing search key');
    if (value.type === 'list') {
      if (value.items.length === 0) throw new SearchSyntaxError('Empty search key list');
      return new KeyReader(value.items).criteria(depth + 1);
    }
    if (!isAtom(value)) throw new SearchSyntaxError('Invalid search key');
    const word = value.value.toUpperCase();
    const flag = FLAGS[word];
    if (flag !== undefined) return { kind: 'flag', flag };
    if (word.startsWith('UN') && FLAGS[word.slice(2)] !== undefined) return { kind: 'not', criterion: { kind: 'flag', flag: FLAGS[word.slice(2)]! } };
    const header = HEADER_KEYS[word];
    if (header !== undefined) return { kind: 'header', ...header, key: this.key() };
    const date = DATE_KEYS[word];
    if (date !== undefined) return { kind: 'date', ...date, time: this.date() };
    switch (word) {
      case 'ALL':
        return ALL;
      case 'RECENT':
        return RECENT;
      case 'OLD':
        return { kind: 'not', criterion: RECENT };
      case 'NEW':
        return { kind: 'and', criteria: [RECENT, { kind: 'not', criterion: { kind: 'flag', flag: '\\Seen' } }] };
      case 'KEYWORD':
        return { kind: 'keyword', keyword: this.astring('keyword').toString('latin1') };
      case 'UNKEYWORD':
        return { kind: 'not', criterion: { kind: 'keyword', keyword: this.astring('keyword').toString('latin1') } };
      case 'LARGER':
      case 'SMALLER':
        return { kind: 'size', op: word === 'LARGER' ? 'larger' : 'smaller', size: this.number('size', 2n ** 64n - 1n) };
      case 'OLDER':
      case 'YOUNGER': {
        const seconds = this.number('interval', 2n ** 32n - 1n);
        if (seconds === 0) throw new SearchSyntaxError('Invalid interval');
        return { kind: 'age', op: word === 'OLDER' ? 'older' : 'younger', seconds };
      }
      case 'HEADER': {
        const field = asciiLower(this.astring('header field name').toString('latin1'));
        return { kind: 'header', field, mode: 'plain', key: this.key() };
      }
      case 'BODY':
      case 'TEXT': {
        const key = this.key();
        // An empty string is in every message (RFC 3501 §6.4.4 "contains").
        return key === '' ? ALL : { kind: 'text', headers: word === 'TEXT', key };
      }
      case 'UID': {
        const set = this.astring('UID set').toString('latin1');
        if (!isSequenceSet(set)) throw new SearchSyntaxError('Invalid UID set');
        return { kind: 'set', uid: true, set };
      }
      case 'OR': {
        // OR a OR b c: one list, as the chain reads, rather than a nesting per OR.
        const criteria = [this.criterion(depth + 1)];
        while (this.peekAtom('OR')) {
          this.pos++;
          criteria.push(this.criterion(depth + 1));
        }
        criteria.push(this.criterion(depth + 1));
        return { kind: 'or', criteria };
      }
      default:
        if (/^[0-9*]/.test(word) && isSequenceSet(word)) return { kind: 'set', uid: false, set: word };
        throw new SearchSyntaxError(`Unknown search key ${value.value.slice(0, 40)}`);
    }
  }

  /** The remaining keys, all of which must match. */
  criteria(depth: number): Criterion {
    const criteria: Criterion[] = [];
    while (!this.done) criteria.push(this.criterion(depth));
    if (criteria.length === 0) throw new SearchSyntaxError('Missing search keys');
    return criteria.length === 1 ? criteria[0]! : { kind: 'and', criteria };
  }

  /** RFC 3501 `["CHARSET" SP astring SP] search-key *(SP search-key)`. */
  charsetAndCriteria(): { charset: string | null; criteria: Criterion } {
    let charset: string | null = null;
    if (this.peekAtom('CHARSET')) {
      this.pos++;
      charset = this.charset();
    }
    return { charset, criteria: this.criteria(0) };
  }

  /** A charset argument: US-ASCII or UTF-8, any case. */
  charset(): string {
    const name = this.astring('charset').toString('latin1');
    if (!CHARSETS.includes(name.toUpperCase())) throw new SearchSyntaxError(`Unsupported charset ${name.slice(0, 40)}`, 'BADCHARSET');
    return name;
  }

  /** RFC 4731 §3.1 `RETURN (options)`, when it is there. */
  returnOptions(): ReturnOption[] | null {
    const list = this.values[this.pos + 1];
    if (!this.peekAtom('RETURN') || list?.type !== 'list') return null;
    this.pos += 2;
    const options = new Set<ReturnOption>();
    for (const item of list.items) {
      const name = isAtom(item) ? item.value.toUpperCase() : '';
      if (name !== 'MIN' && name !== 'MAX' && name !== 'ALL' && name !== 'COUNT') throw new SearchSyntaxError('Unknown SEARCH return option');
      options.add(name);
    }
    // RETURN () means RETURN (ALL).
    return options.size === 0 ? ['ALL'] : (['MIN', 'MAX', 'ALL', 'COUNT'] as const).filter((option) => options.has(option));
  }
}

/** Runs a parse, turning its failure into the error result the entry points return. */
export function attempt<T>(parse: () => T): T | SearchError {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SearchSyntaxError) return error.code === undefined ? { error: error.message } : { error: error.message, code: error.code };
    // Anything else is a bug here, but a client must never see the server fall over for it.
    return { error: 'Invalid search arguments' };
  }
}

/** RFC 3501 §6.4.4 SEARCH arguments, with RFC 4731 RETURN options in front when ESEARCH is on. */
export function parseSearch(args: readonly ImapValue[], options: { esearch: boolean }): SearchRequest | SearchError {
  return attempt(() => {
    const reader = new KeyReader(args);
    const returnOptions = options.esearch ? reader.returnOptions() : null;
    return { ...reader.charsetAndCriteria(), returnOptions };
  });
}

/** `charset SP search-key *(SP search-key)` as SORT and THREAD take it (RFC 5256 §3), from `args[start]` on. */
export function parseSearchAfter(args: readonly ImapValue[], start: number): SearchRequest {
  const reader = new KeyReader(args.slice(start));
  const charset = reader.charset();
  return { charset, criteria: reader.criteria(0), returnOptions: null };
}
