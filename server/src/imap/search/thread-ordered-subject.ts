import type { ImapMessage } from '../message.js';
import { compareCodePoints } from './casemap.js';
import { factsOrBlank, sortDate } from './message-facts.js';
import type { ThreadNode } from './thread-tree.js';

/**
 * THREAD=ORDEREDSUBJECT (RFC 5256 §3): the matching messages sorted by base
 * subject, then sent date, then sequence number; each run of one subject is
 * a thread whose first message is the parent of all the others; threads
 * ordered by their first message's date, then its number. A message without
 * a Subject field has the empty base subject.
 */
export function orderedSubjectThreads(hits: readonly number[], messages: readonly ImapMessage[]): ThreadNode[] {
  const entries = hits.map((index) => ({
    index,
    subject: factsOrBlank(messages[index]!).baseSubject()?.subject ?? '',
    date: sortDate(messages[index]!),
  }));
  entries.sort((a, b) => compareCodePoints(a.subject, b.subject) || a.date - b.date || a.index - b.index);
  const threads: { date: number; first: number; rest: ThreadNode[] }[] = [];
  let previous: string | null = null;
  for (const entry of entries) {
    const current = threads[threads.length - 1];
    if (current !== undefined && entry.subject === previous) current.rest.push({ index: entry.index, children: [] });
    else threads.push({ date: entry.date, first: entry.index, rest: [] });
    previous = entry.subject;
  }
  threads.sort((a, b) => a.date - b.date || a.first - b.first);
  return threads.map((thread) => ({ index: thread.first, children: thread.rest }));
}
