import { casemap } from './casemap.js';
import { decodeHeaderValue } from './encoded-words.js';

export interface BaseSubject {
  /** The base subject, casemapped, so that equal subjects compare equal (RFC 5256 §2.1). */
  readonly subject: string;
  /** Whether a Re:, Fw:, Fwd:, (fwd) or [fwd: ...] was removed (RFC 5256 §3, REFERENCES: "reply or forward"). */
  readonly replyOrForward: boolean;
}

/**
 * The RFC 5256 §2.1 base subject of a Subject field value (a byte string),
 * step by step as Dovecot does it:
 *
 * 1. decode encoded words and casemap; tabs, line breaks and runs of spaces
 *    become one space (Dovecot leaves two where a line was folded after a
 *    space, "a \r\n\tb" reading "A  B", so that it does not thread such a
 *    subject with its unfolded twin; the RFC's "all multiple spaces" wins);
 * 2. remove trailing "(fwd)" and spaces, repeatedly;
 * 3-5. remove leading "Re:" / "Fw:" / "Fwd:" (each optionally preceded by
 *    [blobs] and followed by one [blob] before the colon), a leading space,
 *    and a leading [blob] that does not leave the subject empty, until none
 *    is left;
 * 6. unwrap "[fwd: ... ]" and start again from step 2.
 *
 * Only one space can follow "Re" or a blob here, because step 1 left no
 * runs of spaces.
 */
export function baseSubject(value: string): BaseSubject {
  let text = casemap(decodeHeaderValue(value)).replace(/[ \t\r\n]+/g, ' ');
  let start = 0;
  let replyOrForward = false;
  for (;;) {
    // (2) subj-trailer
    let end = text.length;
    for (;;) {
      if (end <= start) break;
      if (text[end - 1] === ' ') end--;
      else if (end - start >= 5 && text.endsWith('(FWD)', end)) {
        replyOrForward = true;
        end -= 5;
      } else break;
    }
    text = text.slice(0, end);
    // (3)-(5) subj-leader and subj-blob
    for (let found = true; found; ) {
      const leader = removeLeader(text, start);
      if (leader.replyOrForward) replyOrForward = true;
      start = leader.start;
      found = leader.found;
      const blobEnd = text[start] === '[' ? blobEndAt(text, start) : -1;
      if (blobEnd >= 0 && blobEnd < text.length) {
        start = blobEnd;
        found = true;
      }
    }
    // (6) subj-fwd
    if (!text.startsWith('[FWD:', start) || !text.endsWith(']')) break;
    replyOrForward = true;
    text = text.slice(0, -1);
    start += 5;
  }
  return { subject: text.slice(start), replyOrForward };
}

/** Where a subj-blob starting at `pos` ("[" *BLOBCHAR "]" and one optional space) ends, or -1. */
function blobEndAt(text: string, pos: number): number {
  let p = pos + 1;
  while (p < text.length && text[p] !== '[' && text[p] !== ']') p++;
  if (text[p] !== ']') return -1;
  p++;
  return text[p] === ' ' ? p + 1 : p;
}

/** RFC 5256 subj-leader at `start`: one space, or *subj-blob subj-refwd. */
function removeLeader(text: string, start: number): { start: number; found: boolean; replyOrForward: boolean } {
  let pos = start;
  let found = false;
  if (text[pos] === ' ') {
    pos++;
    found = true;
  }
  const base = pos;
  let p = pos;
  while (text[p] === '[') {
    p = blobEndAt(text, p);
    if (p < 0) return { start: base, found, replyOrForward: false };
  }
  if (text.startsWith('RE', p)) p += 2;
  else if (text.startsWith('FWD', p)) p += 3;
  else if (text.startsWith('FW', p)) p += 2;
  else return { start: base, found, replyOrForward: false };
  if (text[p] === ' ') p++;
  if (text[p] === '[') {
    p = blobEndAt(text, p);
    if (p < 0) return { start: base, found, replyOrForward: false };
  }
  if (text[p] !== ':') return { start: base, found, replyOrForward: false };
  return { start: p + 1, found: true, replyOrForward: true };
}
