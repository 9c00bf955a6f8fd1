import type { MessageSummary } from './types.js';

/** An error answer from Mailroom's API, or Mailroom could not be reached (`status` 0). */
export class MailroomError extends Error {
  override readonly name: string = 'MailroomError';

  constructor(
    message: string,
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    /** The API's error code (`not_found`, `bad_request`, `timeout`...), or `unreachable`. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A wait ran out of time. `arrived` lists what came instead, newest first. */
export class MailroomTimeoutError extends MailroomError {
  override readonly name: string = 'MailroomTimeoutError';

  constructor(
    message: string,
    /** Messages that arrived while waiting (or after the cursor), newest first, whatever their match. */
    readonly arrived: MessageSummary[],
    /** Messages that matched the server query but not the client-side subject test. */
    readonly rejected: MessageSummary[] = [],
  ) {
    super(message, 408, 'timeout');
  }
}

/** `expectNoMessage` found mail it should not have. */
export class UnexpectedMessageError extends Error {
  override readonly name: string = 'UnexpectedMessageError';

  constructor(
    message: string,
    readonly messages: MessageSummary[],
  ) {
    super(message);
  }
}

/** One line per message: enough to tell what the app sent instead. */
export function describeMessages(messages: readonly MessageSummary[]): string {
  return messages
    .map((m) => {
      const from = m.from?.address || m.envelope.mailFrom || '<>';
      const to = m.envelope.rcptTo.length > 0 ? m.envelope.rcptTo : m.to.map((a) => a.address);
      return `  - ${JSON.stringify(m.subject)} from ${from} to ${to.join(', ') || '(nobody)'} (id ${m.id}, ${m.receivedAt})`;
    })
    .join('\n');
}

export interface TimeoutReport {
  /** What was waited for, as a phrase. */
  what: string;
  ms: number;
  /** Newest first, whatever their match. */
  arrived: readonly MessageSummary[];
  /** Newest first: matched the server query but not the client-side subject test. */
  rejected: readonly MessageSummary[];
  /** For a wait about one address (an inbox's): that address and its own newest messages. */
  inbox?: { address: string; messages: readonly MessageSummary[] };
}

const ELSEWHERE_SHOWN = 5;

export function timeoutMessage(report: TimeoutReport): string {
  const { what, ms, arrived, rejected, inbox } = report;
  const parts = [`Timed out after ${ms} ms waiting for ${what}.`];
  const shown = new Set<string>();
  const section = (title: string, messages: readonly MessageSummary[], limit = Infinity): void => {
    const fresh = messages.filter((m) => !shown.has(m.id));
    if (fresh.length === 0) return;
    for (const m of fresh.slice(0, limit)) shown.add(m.id);
    const more = fresh.length > limit ? `\n  ... and ${fresh.length - limit} more` : '';
    parts.push(`${title}:\n${describeMessages(fresh.slice(0, limit))}${more}`);
  };
  section('Matched all but the subject', rejected);
  if (inbox) {
    section(`Arrived at ${inbox.address} instead (newest first)`, inbox.messages);
    if (shown.size === 0) parts.push(`Nothing arrived at ${inbox.address}.`);
    section('Meanwhile elsewhere (newest first)', arrived, ELSEWHERE_SHOWN);
  } else {
    section('Arrived instead (newest first)', arrived);
    if (shown.size === 0) parts.push('Nothing arrived.');
  }
  return parts.join('\n');
}
