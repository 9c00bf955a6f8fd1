import { tagsOf } from '../store/tags.js';
import type { StoredMessage } from '../store/types.js';
import { SEEN } from '../store/types.js';
import type { MessageSummary } from './schemas.js';

export function toSummary(message: StoredMessage): MessageSummary {
  const { digest } = message;
  return {
    id: message.id,
    from: digest.from,
    to: digest.to,
    cc: digest.cc,
    subject: digest.subject,
    date: digest.date === null ? null : new Date(digest.date).toISOString(),
    receivedAt: new Date(message.receivedAt).toISOString(),
    size: message.raw.length,
    read: message.flags.has(SEEN),
    tags: tagsOf(message),
    attachmentCount: digest.attachments.reduce((n, a) => (a.disposition === 'attachment' ? n + 1 : n), 0),
    snippet: digest.snippet,
    envelope: message.envelope,
  };
}
