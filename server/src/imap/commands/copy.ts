import type { Account } from '../mailbox/account.js';
import { contentOf } from '../message.js';
import type { ImapSession, SessionState } from '../session.js';
import { formatSet } from '../wire/sequence-set.js';
import { SELECTED, astring, bad, expectArgs, no, type CommandSpec } from './command.js';

/**
 * Copies the named messages into another mailbox; returns the COPYUID code
 * (RFC 4315 §3), or null when nothing matched. When one of them is gone
 * (expunged elsewhere, its EXPUNGE not sent yet), nothing is copied and the
 * answer is NO [EXPUNGEISSUED], as Dovecot answers (RFC 2180 §4.4.1, RFC 5530):
 * its bytes are not kept.
 */
async function copyInto(session: ImapSession, setValue: string, target: string, uid: boolean): Promise<{ code: string | null; moved: number[] }> {
  const selected = session.selected!;
  const indexes = selected.resolve(setValue, uid);
  if (indexes === null) throw bad('Invalid sequence set');
  const { account } = session.state as Extract<SessionState, { account: Account }>;
  const destination = account.get(target);
  if (destination === null) throw no(`Mailbox does not exist: ${target}`, 'TRYCREATE');
  const contents = indexes.map((index) => contentOf(selected.messages[index]!));
  if (contents.includes(null)) throw no('Some of the requested messages no longer exist', 'EXPUNGEISSUED');
  const sources: number[] = [];
  const copies: number[] = [];
  const moved: number[] = [];
  for (const [k, index] of indexes.entries()) {
    const message = selected.messages[index]!;
    const copy = await destination.append({ ...contents[k]!, flags: [...message.flags], internalDate: message.internalDate });
    sources.push(message.uid);
    copies.push(copy.uid);
    moved.push(index);
  }
  const code = sources.length === 0 ? null : `COPYUID ${destination.uidValidity} ${formatSet(sources)} ${formatSet(copies)}`;
  return { code, moved };
}

/** RFC 3501 §6.4.7. */
export const copy: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const [set, mailbox] = expectArgs(command, 2);
    if (set!.type !== 'atom') throw bad('Invalid sequence set');
    const { code } = await copyInto(session, set!.value, astring(mailbox, 'a mailbox name'), uid);
    return code === null ? { text: 'No messages copied' } : { code, text: 'Copy completed' };
  },
};

/**
 * RFC 6851: COPY, then expunge the originals. COPYUID goes out untagged
 * before the EXPUNGE responses (§4.3), which the dispatcher sends next.
 */
export const move: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const [set, mailbox] = expectArgs(command, 2);
    if (set!.type !== 'atom') throw bad('Invalid sequence set');
    const selected = session.selected!;
    if (selected.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
    const { code, moved } = await copyInto(session, set!.value, astring(mailbox, 'a mailbox name'), uid);
    if (code !== null) session.send(`* OK [${code}] Moved`);
    await selected.mailbox.expunge(moved.map((i) => selected.messages[i]!));
    return { text: 'Move completed' };
  },
};
