/**
 * Maildir file names (maildir(5), Dovecot's Maildir++): `base` is unique and
 * never changes; `:2,` and the flag letters follow it in cur/. A message
 * without flags stays in new/ with no info, as delivery leaves it.
 */

/** IMAP system flags and their Maildir letters, in ASCII order as the info must list them. */
const LETTERS: readonly (readonly [flag: string, letter: string])[] = [
  ['\\Draft', 'D'],
  ['\\Flagged', 'F'],
  ['\\Answered', 'R'],
  ['\\Seen', 'S'],
  ['\\Deleted', 'T'],
];

const INFO = ':2,';

export interface MaildirName {
  base: string;
  /** The letters after `:2,`, or null for a name without info. */
  info: string | null;
}

export function splitName(name: string): MaildirName {
  const at = name.indexOf(INFO);
  return at < 0 ? { base: name, info: null } : { base: name.slice(0, at), info: name.slice(at + INFO.length) };
}

/** The system flags a name's info letters stand for; lower-case letters (Dovecot's keywords) and others are not flags here. */
export function flagsOfInfo(info: string | null): string[] {
  if (info === null) return [];
  return LETTERS.filter(([, letter]) => info.includes(letter)).map(([flag]) => flag);
}

/** The flags a file name can hold, for writing down where the name is not yet on disk. */
export function systemFlagsOf(flags: ReadonlySet<string>): string[] {
  return LETTERS.filter(([flag]) => flags.has(flag)).map(([flag]) => flag);
}

/** Where a message with these flags lives and what it is called there. */
export function placeOf(base: string, flags: ReadonlySet<string>): { dir: 'new' | 'cur'; name: string } {
  const letters = LETTERS.filter(([flag]) => flags.has(flag)).map(([, letter]) => letter).join('');
  return letters === '' ? { dir: 'new', name: base } : { dir: 'cur', name: `${base}${INFO}${letters}` };
}

/**
 * A base for a message Mailroom writes: the Maildir shape `time.unique.host`,
 * with the random id as the unique part (so no host name or pid goes to disk)
 * and Dovecot's `,S=` size, which lets readers skip a stat.
 */
export function baseFor(id: string, receivedAt: number, size: number): string {
  return `${Math.floor(receivedAt / 1000)}.${id}.mailroom,S=${size}`;
}

/** The size a name declares with `,S=`, or null; a file of another size was cut short. */
export function declaredSize(base: string): number | null {
  const match = /,S=(\d+)(?:,|$)/.exec(base);
  return match === null ? null : Number(match[1]);
}

/** The delivery time a Maildir base starts with, in epoch milliseconds, or null. */
export function timeOfBase(base: string): number | null {
  const match = /^(\d{9,11})\./.exec(base);
  return match === null ? null : Number(match[1]) * 1000;
}
