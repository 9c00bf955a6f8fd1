import type { ImapSession } from '../session.js';
import { AUTHENTICATED, SELECTED, bad, expectArgs, no, type CommandSpec } from './command.js';

/** RFC 3501 §6.4.1: nothing to write to disk here. */
export const check: CommandSpec = {
  states: SELECTED,
  handle(_session, command) {
    expectArgs(command, 0);
  },
};

/** RFC 3501 §6.4.2: expunges \Deleted messages silently (read-write only), then deselects. */
export const close: CommandSpec = {
  states: SELECTED,
  async handle(session, command) {
    expectArgs(command, 0);
    const selected = session.selected!;
    if (!selected.readOnly) await selected.mailbox.expunge(selected.messages.filter((m) => m.flags.has('\\Deleted')));
    session.deselect();
  },
};

/** RFC 3691: deselects without expunging. */
export const unselect: CommandSpec = {
  states: SELECTED,
  handle(session, command) {
    expectArgs(command, 0);
    session.deselect();
  },
};

/** RFC 3501 §6.4.3, and UID EXPUNGE (RFC 4315 §2.1) limited to a UID set. */
export const expunge: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const selected = session.selected!;
    let candidates = selected.messages;
    if (uid) {
      const [set] = expectArgs(command, 1);
      const indexes = set!.type === 'atom' ? selected.resolve(set!.value, true) : null;
      if (indexes === null) throw bad('Invalid UID set');
      candidates = indexes.map((i) => selected.messages[i]!);
    } else expectArgs(command, 0);
    if (selected.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
    await selected.mailbox.expunge(candidates.filter((m) => m.flags.has('\\Deleted') && !selected.isExpunged(m)));
  },
};

/**
 * RFC 2177: reports changes as they happen until the client sends DONE. The
 * selected view calls back on every queued change; EXPUNGE may go out too,
 * since IDLE is a command in progress (RFC 3501 §7.4.1). Reports wait while
 * the client has not read earlier ones; the changes wait in the view.
 */
export const idle: CommandSpec = {
  states: AUTHENTICATED,
  handle(session: ImapSession, command) {
    expectArgs(command, 0);
    const selected = session.selected;
    let idling = true;
    session.send('+ idling');
    session.flushUpdates(true);
    if (selected !== null) selected.onChange = () => session.whenWritable(() => idling && session.flushUpdates(true));
    session.lineMode((line) => {
      idling = false;
      session.endLineMode();
      if (selected !== null) selected.onChange = null;
      if (line.toString('latin1').toUpperCase() === 'DONE') session.complete(command.tag, 'IDLE', { text: 'IDLE terminated' });
      else session.complete(command.tag, 'IDLE', bad('Expected DONE'));
    });
    return 'pending';
  },
};
