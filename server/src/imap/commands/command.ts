import type { ImapSession, SessionState } from '../session.js';
import type { ImapCommand, ImapValue } from '../wire/types.js';

/** How a command ended well: an optional response code and text for the tagged OK, and work to do after it. */
export interface Completion {
  code?: string;
  text?: string;
  /** Runs after the tagged OK is sent (STARTTLS's handshake, LOGOUT's close). */
  after?: () => void;
}

/** A tagged NO or BAD, with an RFC 5530 response code where one fits. */
export class CommandError extends Error {
  /** Runs after the tagged reply is sent (the close after too many failed logins). */
  after?: () => void;

  constructor(
    readonly status: 'NO' | 'BAD',
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export const bad = (text: string, code?: string): CommandError => new CommandError('BAD', text, code);
export const no = (text: string, code?: string): CommandError => new CommandError('NO', text, code);

export type CommandResult = Completion | void | 'pending';

/**
 * One command (wildduck's shape: states, then a handler the dispatcher calls
 * only in those states). `uid` marks commands with a UID form (RFC 3501 §6.4.8).
 * A handler throws CommandError for NO/BAD, returns a Completion for OK, or
 * 'pending' when it completes later (IDLE, AUTHENTICATE).
 */
export interface CommandSpec {
  readonly states: readonly SessionState['kind'][];
  readonly uid?: boolean;
  handle(session: ImapSession, command: ImapCommand, uid: boolean): CommandResult | Promise<CommandResult>;
}

export const ANY: readonly SessionState['kind'][] = ['notAuthenticated', 'authenticated', 'selected'];
export const AUTHENTICATED: readonly SessionState['kind'][] = ['authenticated', 'selected'];
export const SELECTED: readonly SessionState['kind'][] = ['selected'];

/** Checks the argument count; BAD otherwise. */
export function expectArgs(command: ImapCommand, min: number, max = min): readonly ImapValue[] {
  const { args } = command;
  if (args.length < min || args.length > max) {
    throw bad(min === max ? `${command.name} takes ${min} argument${min === 1 ? '' : 's'}` : `${command.name} takes ${min} to ${max} arguments`);
  }
  return args;
}

/** An astring argument (RFC 3501 §9) as text; lists are not strings. */
export function astring(value: ImapValue | undefined, what: string): string {
  if (value === undefined || value.type === 'list' || (value.type === 'atom' && value.section !== undefined)) throw bad(`Expected ${what}`);
  return value.type === 'atom' ? value.value : value.value.toString('utf8');
}

/** A plain atom argument, upper-cased. */
export function keyword(value: ImapValue | undefined, what: string): string {
  if (value === undefined || value.type !== 'atom' || value.section !== undefined) throw bad(`Expected ${what}`);
  return value.value.toUpperCase();
}
