import { trimChars } from '../match/trim-chars.js';

/** What a released message gets before it goes out, as Mailpit's release does it. */
export interface RelayRewrite {
  /** The new Date field's value. */
  date: string;
  /** The new Message-ID, angle brackets included; null keeps the message's own. */
  messageId: string | null;
  /** The envelope sender the relay was told to use, written as Return-Path; null leaves Return-Path alone. */
  returnPath: string | null;
}

interface Field {
  /** Lower-cased name, up to the colon; null for a line that has none. */
  name: string | null;
  start: number;
  /** Just past the field's last line break. */
  end: number;
  value: string;
}

/** The header's fields with where they are; a field's continuation lines are its own. */
function headerFields(raw: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const lf = raw.indexOf(0x0a, pos);
    const end = lf < 0 ? raw.length : lf + 1;
    const line = raw.toString('latin1', pos, end).replace(/\r?\n$/, '');
    if (line === '') break;
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      last.end = end;
      last.value += line;
    } else {
      const colon = line.indexOf(':');
      fields.push({ name: colon < 0 ? null : line.slice(0, colon).toLowerCase(), start: pos, end, value: colon < 0 ? '' : line.slice(colon + 1) });
    }
    pos = end;
  }
  return fields;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Go's time.RFC1123Z layout: in the server's time zone, as Mailpit dates a release, or in UTC
 * (an epoch time), as MailHog writes its Received field.
 */
export function rfc1123z(time: Date | number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const utc = typeof time === 'number';
  const date = utc ? new Date(time) : time;
  const [day, dom, month, year, hours, minutes, seconds] = utc
    ? [date.getUTCDay(), date.getUTCDate(), date.getUTCMonth(), date.getUTCFullYear(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getDay(), date.getDate(), date.getMonth(), date.getFullYear(), date.getHours(), date.getMinutes(), date.getSeconds()];
  const offset = utc ? 0 : -date.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  return `${DAYS[day]}, ${two(dom)} ${MONTHS[month]} ${year} ${two(hours)}:${two(minutes)}:${two(seconds)} ${zone}`;
}

/**
 * The message as it is relayed: every Bcc field removed, Return-Path rewritten to the
 * configured sender, Date set to now and Message-ID replaced (each in place, or added at the
 * top when missing), the rest byte for byte. New fields end in CRLF, as Mailpit writes them.
 * Mailpit removes only the first Bcc field (and Return-Path field); a second Bcc would tell
 * the recipients who else was sent the mail, so here every one goes.
 */
export function prepareForRelay(raw: Buffer, rewrite: RelayRewrite): Buffer {
  const fields = headerFields(raw);
  const remove = new Set(fields.filter((f) => f.name !== null && f.name.trimEnd() === 'bcc'));
  const replace = new Map<Field, string>();
  const prepend: string[] = [];
  // Each added field goes on top of the ones added before it, in Mailpit's order.
  const set = (name: string, value: string): void => {
    const field = fields.find((f) => f.name === name.toLowerCase() && !remove.has(f));
    if (field === undefined) prepend.unshift(`${name}: ${value}\r\n`);
    else replace.set(field, `${name}: ${value}\r\n`);
  };
  if (rewrite.returnPath !== null) {
    const wanted = `<${rewrite.returnPath}>`;
    const current = fields.find((f) => f.name === 'return-path');
    if (current === undefined || trimChars(current.value, ' \t') !== wanted) {
      for (const field of fields) if (field.name === 'return-path') remove.add(field);
      prepend.unshift(`Return-Path: ${wanted}\r\n`);
    }
  }
  set('Date', rewrite.date);
  if (rewrite.messageId !== null) set('Message-ID', rewrite.messageId);
  const pieces: Buffer[] = [Buffer.from(prepend.join(''), 'latin1')];
  let pos = 0;
  for (const field of fields) {
    const replacement = replace.get(field);
    if (!remove.has(field) && replacement === undefined) continue;
    pieces.push(raw.subarray(pos, field.start));
    if (replacement !== undefined) pieces.push(Buffer.from(replacement, 'latin1'));
    pos = field.end;
  }
  pieces.push(raw.subarray(pos));
  return Buffer.concat(pieces);
}
