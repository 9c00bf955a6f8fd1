import { compileWildcard, type WildcardMatcher } from '../../match/wildcard.js';
import { DELIMITER, invalidName, MAX_NAME_BYTES, MAX_SUBSCRIPTIONS, normalizeName, type Account } from '../mailbox/account.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import { SelectedMailbox } from '../selected.js';
import type { ImapSession, SessionState } from '../session.js';
import { mailboxName } from '../wire/encode.js';
import type { ImapValue } from '../wire/types.js';
import { AUTHENTICATED, astring, bad, expectArgs, keyword, no, type CommandSpec } from './command.js';

const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

function account(session: ImapSession): Account {
  return (session.state as Extract<SessionState, { account: Account }>).account;
}

function existing(session: ImapSession, name: string): Mailbox {
  const mailbox = account(session).get(name);
  if (mailbox === null) throw no(`Mailbox does not exist: ${name}`, 'NONEXISTENT');
  return mailbox;
}

/** RFC 3501 §6.3.1 and §6.3.2: the responses a client needs to work with the mailbox. */
function select(session: ImapSession, args: readonly ImapValue[], readOnly: boolean): { code: string; text: string } {
  if (args.length !== 1 && !(args.length === 2 && args[1]!.type === 'list' && args[1]!.items.length === 0)) {
    throw bad('SELECT and EXAMINE take a mailbox name');
  }
  const name = astring(args[0], 'a mailbox name');
  // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
  session.deselect();
  const mailbox = existing(session, name);
  const selected = new SelectedMailbox(mailbox, readOnly, session);
  const { user, account } = session.state as Extract<SessionState, { account: Account }>;
  session.state = { kind: 'selected', user, account, selected };

  const messages = selected.messages;
  const keywords = new Set<string>();
  let firstUnseen = 0;
  messages.forEach((message, index) => {
    for (const flag of message.flags) if (!flag.startsWith('\\')) keywords.add(flag);
    if (firstUnseen === 0 && !message.flags.has('\\Seen')) firstUnseen = index + 1;
  });
  const flags = [SYSTEM_FLAGS, ...keywords].join(' ');
  session.send(`* FLAGS (${flags})`);
  session.send(`* OK [PERMANENTFLAGS (${readOnly ? '' : `${flags} \\*`})] ${readOnly ? 'Read-only mailbox' : 'Flags permitted'}`);
  session.send(`* ${messages.length} EXISTS`);
  session.send(`* ${selected.recentCount} RECENT`);
  if (firstUnseen > 0) session.send(`* OK [UNSEEN ${firstUnseen}] First unseen`);
  session.send(`* OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`);
  session.send(`* OK [UIDNEXT ${mailbox.uidNext}] Predicted next UID`);
  return { code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${readOnly ? 'Examine' : 'Select'} completed` };
}

export const selectCommand: CommandSpec = {
  states: AUTHENTICATED,
  handle: (session, command) => select(session, command.args, false),
};

export const examine: CommandSpec = {
  states: AUTHENTICATED,
  handle: (session, command) => select(session, command.args, true),
};

/** RFC 3501 §6.3.3. */
export const create: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const [name] = expectArgs(command, 1, 2);
    const error = await account(session).create(astring(name, 'a mailbox name'));
    if (error !== null) throw no(error, error === 'Mailbox already exists' ? 'ALREADYEXISTS' : error.includes('at most') ? 'LIMIT' : 'CANNOT');
  },
};

/** RFC 3501 §6.3.4. */
export const deleteCommand: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const [name] = expectArgs(command, 1);
    const text = astring(name, 'a mailbox name');
    const selected = session.selected?.mailbox === account(session).get(text);
    const result = await account(session).delete(text);
    // RFC 5530's INUSE means someone else holds it, which would make clients retry; a folder with children simply cannot go.
    if ('error' in result) throw no(result.error, result.error === 'Mailbox does not exist' ? 'NONEXISTENT' : 'CANNOT');
    // Deleting the selected mailbox deselects it, as Dovecot does; a refused DELETE leaves the selection alone.
    if (selected) session.deselect();
  },
};

/** RFC 3501 §6.3.5. */
export const rename: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const [from, to] = expectArgs(command, 2);
    const error = await account(session).rename(astring(from, 'a mailbox name'), astring(to, 'a new mailbox name'));
    if (error === null) return;
    throw no(error, error === 'Mailbox does not exist' ? 'NONEXISTENT' : error === 'Mailbox already exists' ? 'ALREADYEXISTS' : 'CANNOT');
  },
};

/** RFC 3501 §6.3.6: any name may be subscribed, existing or not. */
export const subscribe: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const [name] = expectArgs(command, 1);
    const { subscriptions } = account(session);
    if (subscriptions.size >= MAX_SUBSCRIPTIONS) throw no(`A user has at most ${MAX_SUBSCRIPTIONS} subscriptions`, 'LIMIT');
    const text = astring(name, 'a mailbox name');
    // Names that may not exist are still held for the session's life: no longer than one that may.
    if (Buffer.byteLength(text) > MAX_NAME_BYTES) throw no(`Mailbox names are at most ${MAX_NAME_BYTES} octets`, 'LIMIT');
    // A name LSUB could not send back as a string (NUL, CR, LF) is refused as CREATE refuses it.
    const invalid = invalidName(text);
    if (invalid !== null) throw no(invalid, 'CANNOT');
    await account(session).subscribe(text, true);
  },
};

/** RFC 3501 §6.3.7. */
export const unsubscribe: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const [name] = expectArgs(command, 1);
    await account(session).subscribe(astring(name, 'a mailbox name'), false);
  },
};

/**
 * A LIST or LSUB pattern with its reference (RFC 3501 §6.3.8): `*` matches anything, `%` anything
 * but the delimiter. Names are case-sensitive, except that INBOX matches however the pattern
 * spells it.
 */
class MailboxPattern {
  private readonly exact: WildcardMatcher;
  private inbox: boolean | undefined;

  constructor(reference: string, pattern: string) {
    this.exact = compileWildcard(normalizeName(reference + pattern), { delimiter: DELIMITER });
  }

  matches(name: string): boolean {
    return name === 'INBOX' ? this.matchesInbox() : this.exact.matches(name);
  }

  /** Every superior level of `name` that matches, shortest first, in one pass over the name. */
  matchingParents(name: string): string[] {
    const parents = this.exact.matchingPrefixes(name, DELIMITER).map((end) => name.slice(0, end));
    // Whatever matches INBOX case-sensitively matches it case-insensitively too.
    if (name.startsWith(`INBOX${DELIMITER}`) && parents[0] !== 'INBOX' && this.matchesInbox()) parents.unshift('INBOX');
    return parents;
  }

  private matchesInbox(): boolean {
    this.inbox ??= this.exact.minLength <= 'INBOX'.length && this.exact.ignoringCase().matches('INBOX');
    return this.inbox;
  }
}

function listArgs(command: { args: readonly ImapValue[] }): { selection: string[]; reference: string; pattern: string } {
  let args = command.args;
  let selection: string[] = [];
  // RFC 5258 selection options, of which SPECIAL-USE (RFC 6154 §3) is the one clients send here.
  if (args[0]?.type === 'list') {
    selection = args[0].items.map((item) => keyword(item, 'a selection option'));
    args = args.slice(1);
  }
  // RFC 5258 return options are accepted: CHILDREN and SPECIAL-USE attributes are always returned.
  if (args.length === 4 && args[2]!.type === 'atom' && args[2]!.value.toUpperCase() === 'RETURN' && args[3]!.type === 'list') args = args.slice(0, 2);
  if (args.length !== 2) throw bad('LIST takes a reference and a mailbox pattern');
  return { selection, reference: astring(args[0], 'a reference name'), pattern: listPattern(args[1]!) };
}

function listPattern(value: ImapValue): string {
  if (value.type === 'list') throw bad('Multiple patterns are not supported');
  return astring(value, 'a mailbox pattern');
}

/** RFC 3501 §6.3.8, with CHILDREN (RFC 3348) and SPECIAL-USE (RFC 6154) attributes. */
export const list: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const { selection, reference, pattern } = listArgs(command);
    if (pattern === '') {
      // The hierarchy delimiter and root (RFC 3501 §6.3.8).
      session.send(`* LIST (\\Noselect) "${DELIMITER}" ""`);
      return;
    }
    const onlySpecial = selection.includes('SPECIAL-USE');
    const user = account(session);
    const matcher = new MailboxPattern(reference, pattern);
    const parents = user.parents();
    for (const name of user.names()) {
      if (!matcher.matches(name)) continue;
      const mailbox = user.get(name)!;
      if (onlySpecial && mailbox.specialUse === null) continue;
      const attributes = [parents.has(name) ? '\\HasChildren' : '\\HasNoChildren'];
      if (mailbox.specialUse !== null) attributes.push(mailbox.specialUse);
      if (selection.includes('SUBSCRIBED') && user.subscriptions.has(name)) attributes.push('\\Subscribed');
      if (selection.includes('SUBSCRIBED') && !user.subscriptions.has(name)) continue;
      await session.writeLine(`* LIST (${attributes.join(' ')}) "${DELIMITER}" ${mailboxName(name)}`);
    }
  },
};

/** RFC 3501 §6.3.9. */
export const lsub: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const [reference, pattern] = expectArgs(command, 2);
    const text = listPattern(pattern!);
    if (text === '') {
      session.send(`* LSUB (\\Noselect) "${DELIMITER}" ""`);
      return;
    }
    const user = account(session);
    const matcher = new MailboxPattern(astring(reference, 'a reference name'), text);
    const found = new Map<string, string>();
    for (const name of user.subscriptions) {
      if (matcher.matches(name)) {
        found.set(name, user.get(name) === null ? '\\Noselect' : '');
        continue;
      }
      // RFC 3501 §6.3.9: with %, an unsubscribed parent of a subscribed name is listed, as \Noselect.
      for (const parent of matcher.matchingParents(name)) if (!user.subscriptions.has(parent)) found.set(parent, '\\Noselect');
    }
    const order = (a: string, b: string): number => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0);
    for (const [name, attributes] of [...found].sort(([a], [b]) => order(a, b))) {
      await session.writeLine(`* LSUB (${attributes}) "${DELIMITER}" ${mailboxName(name)}`);
    }
  },
};

const STATUS_ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN']);

/** RFC 3501 §6.3.10. */
export const status: CommandSpec = {
  states: AUTHENTICATED,
  handle(session, command) {
    const [name, items] = expectArgs(command, 2);
    if (items!.type !== 'list' || items!.items.length === 0) throw bad('STATUS takes a list of status items');
    const wanted = items!.items.map((item) => keyword(item, 'a status item'));
    const unknown = wanted.find((item) => !STATUS_ITEMS.has(item));
    if (unknown !== undefined) throw bad(`Unknown status item ${unknown}`);
    const mailboxText = astring(name, 'a mailbox name');
    const mailbox = existing(session, mailboxText);
    const messages = mailbox.messages();
    const value = (item: string): number => {
      switch (item) {
        case 'MESSAGES':
          return messages.length;
        case 'RECENT':
          return messages.filter((m) => m.uid > mailbox.recentUpTo).length;
        case 'UIDNEXT':
          return mailbox.uidNext;
        case 'UIDVALIDITY':
          return mailbox.uidValidity;
        default:
          return messages.filter((m) => !m.flags.has('\\Seen')).length;
      }
    };
    session.send(`* STATUS ${mailboxName(mailbox.name)} (${wanted.map((item) => `${item} ${value(item)}`).join(' ')})`);
  },
};
