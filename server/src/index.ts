export { startMailroom, type Mailroom, type MailroomOptions } from './mailroom.js';
export { ConfigError, StartError, SettingError, type LogLevel } from './config.js';
export type { LiveEvents } from './api/live.js';
export type { MessageSummary, MessageDetail } from './api/schemas.js';
