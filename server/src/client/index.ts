/**
 * `mailroom-catcher/client`: a typed client for Mailroom's HTTP API that needs nothing
 * but `fetch`. No Node.js module is imported anywhere below this folder, so it
 * runs in Node 18+ and in browsers.
 */
export { MailroomClient, type MailroomClientOptions, type InboxOptions } from './client.js';
export { Inbox } from './inbox.js';
export { Message, Attachment } from './message.js';
export { MailroomError, MailroomTimeoutError, UnexpectedMessageError } from './errors.js';
export { compileMatch, queryValue, type MessageMatch, type CompiledMatch } from './match.js';
export type { Cursor, WaitOptions, QuietOptions, ListOptions } from './wait.js';
export type { ClientCredentials, FetchFunction } from './http.js';
export type { Address, AttachmentInfo, Envelope, Link, MessageDetail, MessagePage, MessageSummary } from './types.js';
