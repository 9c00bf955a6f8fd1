import type { ImapMessage } from '../message.js';
import type { HeaderMode } from './header-text.js';

/** The mailbox a search runs over, as the selected session sees it. */
export interface SearchContext {
  /** Sequence number i+1 is messages[i]; UIDs ascend with sequence numbers. */
  readonly messages: readonly ImapMessage[];
  /** \Recent is per session (RFC 3501 §2.3.2), so the session answers it. */
  isRecent(index: number): boolean;
  /** A message that is gone and whose match depends on its text: left out of the results. */
  onUnknown?(index: number): void;
}

/** A parse failure; BADCHARSET asks for `NO [BADCHARSET (US-ASCII UTF-8)]` (RFC 3501 §6.4.4). */
export interface SearchError {
  readonly error: string;
  readonly code?: 'BADCHARSET';
}

export type SystemFlag = '\\Answered' | '\\Deleted' | '\\Draft' | '\\Flagged' | '\\Seen';

/** One search key (RFC 3501 §6.4.4, RFC 5032), strings already casemapped. */
export type Criterion =
  | { readonly kind: 'all' }
  | { readonly kind: 'and'; readonly criteria: readonly Criterion[] }
  | { readonly kind: 'or'; readonly criteria: readonly Criterion[] }
  | { readonly kind: 'not'; readonly criterion: Criterion }
  | { readonly kind: 'flag'; readonly flag: SystemFlag }
  | { readonly kind: 'keyword'; readonly keyword: string }
  | { readonly kind: 'recent' }
  /** A sequence set (`2:4,7`, `5:*`) over sequence numbers or UIDs. */
  | { readonly kind: 'set'; readonly uid: boolean; readonly set: string }
  /** BEFORE/ON/SINCE on INTERNALDATE, SENT* on the Date: field; `time` is the day's start, UTC. */
  | { readonly kind: 'date'; readonly sent: boolean; readonly op: 'before' | 'on' | 'since'; readonly time: number }
  /** RFC 5032 OLDER/YOUNGER: INTERNALDATE against the time of the search. */
  | { readonly kind: 'age'; readonly op: 'older' | 'younger'; readonly seconds: number }
  | { readonly kind: 'size'; readonly op: 'larger' | 'smaller'; readonly size: number }
  /** `field` is lower case; an empty key asks only whether the field is there. */
  | { readonly kind: 'header'; readonly field: string; readonly mode: HeaderMode; readonly key: string }
  /** BODY (headers false) or TEXT; the key is never empty. */
  | { readonly kind: 'text'; readonly headers: boolean; readonly key: string };

/** RFC 4731 §3.1 result options. */
export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT';

export interface SearchRequest {
  readonly criteria: Criterion;
  /** As the client named it (US-ASCII or UTF-8), or null without CHARSET. */
  readonly charset: string | null;
  /** null for a plain SEARCH (untagged SEARCH reply); otherwise an ESEARCH reply with these, in this order. */
  readonly returnOptions: readonly ReturnOption[] | null;
}

/** RFC 5256 §3 sort criteria. */
export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO';

export interface SortRequest {
  readonly program: readonly { readonly key: SortKey; readonly reverse: boolean }[];
  readonly search: SearchRequest;
}

export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES';

export interface ThreadRequest {
  readonly algorithm: ThreadAlgorithm;
  readonly search: SearchRequest;
}
