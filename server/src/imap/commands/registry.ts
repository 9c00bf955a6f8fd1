import { append } from './append.js';
import type { CommandSpec } from './command.js';
import { authenticate, capability, enable, id, login, logout, namespace, noop, starttls } from './connection.js';
import { copy, move } from './copy.js';
import { fetch, store } from './fetch.js';
import { create, deleteCommand, examine, list, lsub, rename, selectCommand, status, subscribe, unsubscribe } from './mailboxes.js';
import { search, sort, thread } from './search.js';
import { check, close, expunge, idle, unselect } from './selected.js';

/** Every command by name: the whole command table in one place. */
export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['CAPABILITY', capability],
  ['NOOP', noop],
  ['LOGOUT', logout],
  ['ID', id],
  ['STARTTLS', starttls],
  ['LOGIN', login],
  ['AUTHENTICATE', authenticate],
  ['ENABLE', enable],
  ['NAMESPACE', namespace],
  ['SELECT', selectCommand],
  ['EXAMINE', examine],
  ['CREATE', create],
  ['DELETE', deleteCommand],
  ['RENAME', rename],
  ['SUBSCRIBE', subscribe],
  ['UNSUBSCRIBE', unsubscribe],
  ['LIST', list],
  ['LSUB', lsub],
  ['STATUS', status],
  ['APPEND', append],
  ['IDLE', idle],
  ['CHECK', check],
  ['CLOSE', close],
  ['UNSELECT', unselect],
  ['EXPUNGE', expunge],
  ['FETCH', fetch],
  ['STORE', store],
  ['COPY', copy],
  ['MOVE', move],
  ['SEARCH', search],
  ['SORT', sort],
  ['THREAD', thread],
]);
