import { parseFetch, renderFetch } from '../fetch/index.js';
import { flagList } from '../fetch/flags.js';
import { SELECTED, bad, expectArgs, keyword, no, type CommandSpec } from './command.js';
import { parseFlags } from './flags.js';

/**
 * RFC 3501 §6.4.5. A body section fetched without PEEK sets \Seen, and the
 * new FLAGS go out with that message's response. Responses are written one
 * message at a time, waiting on the socket, so a fetch of every message
 * streams rather than building up in memory.
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
    for (const index of indexes) {
      const message = selected.messages[index]!;
      let flags = false;
      if (markSeen && !message.flags.has('\\Seen') && !selected.isExpunged(message)) {
        selected.mailbox.updateFlags(message, ['\\Seen'], [], session);
        flags = true;
      }
      await session.write(renderFetch(message, index + 1, request, { uid, flags, recent: selected.isRecent(message) }));
    }
  },
};

/** RFC 3501 §6.4.6. */
export const store: CommandSpec = {
  states: SELECTED,
  uid: true,
  handle(session, command, uid) {
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
    for (const index of indexes) {
      const message = selected.messages[index]!;
      if (selected.isExpunged(message)) continue;
      stored += 1;
      const add = match[1] === '-' ? [] : flags;
      const remove = match[1] === '+' ? [] : match[1] === '-' ? flags : [...message.flags].filter((f) => !flags.includes(f));
      selected.mailbox.updateFlags(message, add, remove, session);
      if (!silent) {
        const uidItem = uid ? `UID ${message.uid} ` : '';
        session.send(`* ${index + 1} FETCH (${uidItem}FLAGS (${flagList(message.flags, selected.isRecent(message))}))`);
      }
    }
    // RFC 2180 §4.2.2: every named message was expunged elsewhere; the EXPUNGEs follow at the next chance.
    if (stored === 0 && indexes.length > 0 && !silent) throw no('The messages were expunged', 'EXPUNGEISSUED');
  },
};
