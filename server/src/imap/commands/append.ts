import { StoreCapacityError } from '../../store/store.js';
import type { Account } from '../mailbox/account.js';
import type { SessionState } from '../session.js';
import { AUTHENTICATED, astring, bad, no, type CommandSpec } from './command.js';
import { parseFlags } from './flags.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3501 §9 date-time: `"17-Jul-1996 02:44:25 -0700"` (day may be space-padded). */
function parseDateTime(text: string): number | null {
  const match = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (match === null) return null;
  const month = MONTHS.findIndex((m) => m.toLowerCase() === match[2]!.toLowerCase());
  const [day, hour, minute, second] = [match[1], match[4], match[5], match[6]].map((n) => Number(n!.trim()));
  if (month < 0 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 60) return null;
  const offset = (Number(match[8]) * 60 + Number(match[9])) * (match[7] === '-' ? -1 : 1);
  return Date.UTC(Number(match[3]), month, day, hour, minute, second) - offset * 60_000;
}

/** RFC 3501 §6.3.11, answering APPENDUID (RFC 4315 §3). */
export const append: CommandSpec = {
  states: AUTHENTICATED,
  async handle(session, command) {
    const args = [...command.args];
    const name = astring(args.shift(), 'a mailbox name');
    const message = args.pop();
    // RFC 3501 §9: append takes a literal; a quoted string is no message.
    if (message === undefined || message.type !== 'string' || !message.literal) throw bad('APPEND needs the message as a literal');
    let flags: string[] = [];
    if (args[0]?.type === 'list') flags = parseFlags(args.shift()!);
    let internalDate = Date.now();
    if (args.length > 0) {
      const date = args.shift()!;
      const parsed = date.type === 'string' ? parseDateTime(date.value.toString('latin1')) : null;
      if (parsed === null) throw bad('Invalid date-time');
      internalDate = parsed;
    }
    if (args.length > 0) throw bad('Too many arguments to APPEND');
    if (message.value.length === 0) throw no('Cannot append an empty message');
    const { account } = session.state as Extract<SessionState, { account: Account }>;
    const mailbox = account.get(name);
    // RFC 3501 §6.3.11: TRYCREATE tells the client that CREATE would help.
    if (mailbox === null) throw no(`Mailbox does not exist: ${name}`, 'TRYCREATE');
    try {
      // The literal is a slice of the command buffer; a copy keeps only the message.
      const added = await mailbox.append({ raw: Buffer.from(message.value), flags, internalDate });
      return { code: `APPENDUID ${mailbox.uidValidity} ${added.uid}`, text: 'Append completed' };
    } catch (error) {
      if (error instanceof StoreCapacityError) throw no(error.message, 'TOOBIG');
      throw error;
    }
  },
};
