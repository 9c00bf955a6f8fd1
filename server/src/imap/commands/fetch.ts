import { parseFetch, renderFetchParts } from '../fetch/index.js';
import { flagList } from '../fetch/flags.js';
import { SELECTED, bad, expectArgs, keyword, no, type CommandSpec } from './command.js';
import { parseFlags } from './flags.js';
import { hasTag, isTag } from '../../store/tags.js';

/**
 * RFC 3501 §6.4.5. A body section fetched without PEEK sets \Seen, and the
 * new FLAGS go out with that message's response. Responses are written one
 * message at a time, waiting on the socket, so a fetch of every message
 * streams rather than building up in memory.
 *
 * A message gone from the mailbox (expunged elsewhere, or dropped by the
 * store) whose EXPUNGE this session may not be sent yet still gets its
 * response, as Dovecot answers (RFC 2180 §4.1.3): UID, FLAGS and
 * INTERNALDATE as they were, NIL or empty values for the rest, and the
 * tagged OK says [EXPUNGEISSUED] (RFC 5530).
 */
export const fetch: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const [set, ...items] = command.args;
    if (set === undefined || items.length === 0) throw bad('FETCH takes a sequence set and data items');
    if (set.type !== 'atom') throw bad('Invalid sequence set');
    const request = parseFetch(items);
    if ('error' in request) throw bad(request.error);
    const selected = session.selected!;
    const indexes = selected.resolve(set.value, uid);
    if (indexes === null) throw bad('Invalid sequence set');
    const markSeen = request.setsSeen && !selected.readOnly;
    let lost = false;
    const writes = new Writes();
    for (const index of indexes) {
      if (session.isClosed) return;
      const message = selected.messages[index]!;
      let flags = false;
      if (markSeen && !message.flags.has('\\Seen') && !selected.isExpunged(message)) {
        writes.add(selected.mailbox.updateFlags(message, ['\\Seen'], [], session));
        flags = true;
      }
      const rendered = renderFetchParts(message, index + 1, request, { uid, flags, recent: selected.isRecent(message) });
      lost ||= rendered.lost;
      await session.write(rendered.chunks);
    }
    // The tagged OK says \Seen is stored, so it waits for the writes.
    await writes.done();
    if (lost) return { code: 'EXPUNGEISSUED', text: 'Some messages were already expunged' };
  },
};

/**
 * Flag writes a command started; the tagged reply waits for them. Each is
 * watched from the start, so one that fails after the session has gone (the
 * loop returns early) is no unhandled rejection.
 */
class Writes {
  private readonly settled: Promise<unknown>[] = [];

  add(write: Promise<void>): void {
    this.settled.push(write.then(() => null, (error: unknown) => error ?? new Error('flag write failed')));
  }

  /** Rejects with the first failure, once every write has settled. */
  async done(): Promise<void> {
    const failure = (await Promise.all(this.settled)).find((outcome) => outcome !== null);
    if (failure !== undefined) throw failure;
  }
}

/**
 * RFC 3501 §6.4.6. Messages expunged elsewhere are left alone (RFC 2180
 * §4.2); the FETCH responses stream as FETCH's do.
 */
/** Keywords compare ignoring case, as SEARCH KEYWORD does and as the store keeps tags; system flags are canonical already. */
const holds = (flags: ReadonlySet<string>, flag: string): boolean => flags.has(flag) || (isTag(flag) && hasTag({ flags }, flag.toLowerCase()));

export const store: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const [set, item, value] = expectArgs(command, 3);
    if (set!.type !== 'atom') throw bad('Invalid sequence set');
    const match = /^([+-]?)FLAGS(\.SILENT)?$/.exec(keyword(item, 'FLAGS, +FLAGS or -FLAGS'));
    if (match === null) throw bad('STORE takes FLAGS, +FLAGS or -FLAGS, optionally .SILENT');
    const flags = parseFlags(value!);
    const selected = session.selected!;
    if (selected.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
    const indexes = selected.resolve(set!.value, uid);
    if (indexes === null) throw bad('Invalid sequence set');
    const silent = match[2] !== undefined;
    let stored = 0;
    const writes = new Writes();
    for (const index of indexes) {
      if (session.isClosed) return;
      const message = selected.messages[index]!;
      if (selected.isExpunged(message)) continue;
      stored += 1;
      const current = message.flags;
      const add = match[1] === '-' ? [] : flags;
      const remove = match[1] === '+' ? [] : match[1] === '-' ? flags : [...current].filter((f) => !flags.includes(f));
      // Asking again for flags a message has is common (clients resend whole lists) and changes nothing.
      if (add.some((f) => !holds(current, f)) || remove.some((f) => holds(current, f))) writes.add(selected.mailbox.updateFlags(message, add, remove, session));
      if (!silent) {
        const uidItem = uid ? `UID ${message.uid} ` : '';
        await session.writeLine(`* ${index + 1} FETCH (${uidItem}FLAGS (${flagList(message.flags, selected.isRecent(message))}))`);
      }
    }
    await writes.done();
    // RFC 2180 §4.2.2: every named message was expunged elsewhere; the EXPUNGEs follow at the next chance.
    if (stored === 0 && indexes.length > 0 && !silent) throw no('The messages were expunged', 'EXPUNGEISSUED');
  },
};
