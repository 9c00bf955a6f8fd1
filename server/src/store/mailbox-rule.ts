import type { StoredMessage } from './types.js';

/**
 * Which captured mail a login sees, the same for POP2, POP3 and IMAP: a user
 * name that is an address sees the messages addressed to it (any envelope
 * recipient, To or Cc); any other name sees every message.
 */
export function mailboxFilter(user: string): ((message: StoredMessage) => boolean) | null {
  if (!user.includes('@')) return null;
  const wanted = user.toLowerCase();
  return (message) =>
    message.envelope.rcptTo.some((rcpt) => rcpt.toLowerCase() === wanted) ||
    message.digest.to.some((a) => a.address.toLowerCase() === wanted) ||
    message.digest.cc.some((a) => a.address.toLowerCase() === wanted);
}

/** The messages a user name sees, in arrival order. */
export function visibleTo(user: string, messages: readonly StoredMessage[]): StoredMessage[] {
  const filter = mailboxFilter(user);
  return filter === null ? messages.slice() : messages.filter(filter);
}
