import { ERROR, Rfc822Cursor } from './rfc822-cursor.js';

/**
 * Dates for SEARCH, SORT and THREAD, read as Dovecot reads them.
 *
 * - Search arguments are RFC 3501 `date` values (`1-Feb-2024`, `01-Feb-2024`,
 *   quoted or not): the start of that day, UTC.
 * - The Date: field is RFC 5322 §3.3 date-time, with the obsolete forms of
 *   §4.3 (two-digit years, named zones, missing seconds, comments).
 * - Times are whole seconds since the epoch, as in Dovecot's index.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
export const DAY = 86_400;

function monthIndex(text: string): number {
  return MONTHS.indexOf(text.slice(0, 3).toLowerCase());
}

/** Seconds of a UTC calendar time, or null when a field is out of range (Dovecot's utc_mktime). */
function utcTime(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number | null {
  // A leap second is accepted, as the 59th.
  const sec = second === 60 ? 59 : second;
  if (hour > 23 || minute > 59 || sec > 59) return null;
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month || date.getUTCDate() !== day) return null;
  return Math.floor(date.getTime() / 1000) + hour * 3600 + minute * 60 + sec;
}

/**
 * An RFC 3501 search date: `d-Mon-yyyy` or `dd-Mon-yyyy`, a leading space
 * allowed (date-day-fixed). Dovecot reads an impossible day (31-Feb) of a
 * year up to 2000 as "before all time" rather than refusing it; so does this.
 */
export function parseSearchDate(text: string): number | null {
  const match = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!match) return null;
  const month = monthIndex(match[2]!);
  if (month < 0) return null;
  const year = Number(match[3]);
  const time = utcTime(year, month, Number(match[1]));
  if (time !== null) return time;
  return year <= 2000 ? -(2 ** 31) : null;
}

/** Minutes east of UTC for a zone: numeric, military, UT/GMT or the US zones; anything else is UTC. */
function zoneOffset(zone: string): number {
  if (zone.length === 5 && /^[+-]\d{4}$/.test(zone)) {
    const minutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5));
    return zone[0] === '+' ? minutes : -minutes;
  }
  if (zone.length === 1) {
    // Military zones the correct way round, not as RFC 822 printed them (RFC 5322 §4.3).
    const c = zone.toUpperCase().charCodeAt(0);
    const A = 0x41;
    if (c < 0x4a) return (zone.charCodeAt(0) - A + 1) * 60;
    if (c === 0x4a) return 0;
    if (c <= 0x4d) return (zone.charCodeAt(0) - A) * 60;
    if (c < 0x5a) return (0x4d - zone.charCodeAt(0)) * 60;
    return 0;
  }
  if (zone.length === 3 && zone[2] === 'T') {
    const base = { E: -300, C: -360, M: -420, P: -480 }[zone[0]!.toUpperCase()];
    if (base === undefined) return 0;
    const kind = zone[1]!.toUpperCase();
    if (kind === 'D') return base + 60;
    if (kind === 'S') return base;
  }
  return 0;
}

export interface MessageDate {
  /** Seconds since the epoch (UTC). */
  time: number;
  /** The zone written in the field, minutes east of UTC. */
  zone: number;
}

/**
 * A Date: field value: `[day ","] d month [yy]yy h:mm[:ss] [zone]`, with
 * comments and white space between tokens, `.` accepted as time separator,
 * two-digit years read as 1970-2069. Null when it does not read as a date.
 */
export function parseMessageDate(value: string): MessageDate | null {
  const t = new Rfc822Cursor(value);
  if (t.skipSpace() === ERROR) return null;
  let token = t.atom();
  if (!token) return null;
  if (token.length === 3) {
    // A day name, whatever it says, must be followed by a comma.
    if (t.peek() !== ',') return null;
    t.pos++;
    if (t.skipSpace() === ERROR) return null;
    token = t.atom();
    if (!token) return null;
  }
  if (!/^\d{1,2}$/.test(token)) return null;
  const day = Number(token);
  const monthToken = t.atom();
  if (!monthToken || monthToken.length < 3) return null;
  const month = monthIndex(monthToken);
  if (month < 0) return null;
  const yearToken = t.atom();
  if (!yearToken || !/^(\d{2}|\d{4})$/.test(yearToken)) return null;
  let year = Number(yearToken);
  if (yearToken.length === 2) year += year < 70 ? 2000 : 1900;
  else if (year < 1900) return null;
  const hourToken = t.atom();
  if (!hourToken || !/^\d{1,2}$/.test(hourToken)) return null;
  if (t.peek() !== ':' && t.peek() !== '.') return null;
  t.pos++;
  if (t.skipSpace() === ERROR) return null;
  const minuteToken = t.atom();
  if (minuteToken === null || !/^\d{2}$/.test(minuteToken)) return null;
  let second = 0;
  if (t.peek() === ':' || t.peek() === '.') {
    t.pos++;
    if (t.skipSpace() === ERROR) return null;
    const secondToken = t.atom();
    if (!secondToken || !/^\d{2}$/.test(secondToken)) return null;
    second = Number(secondToken);
  }
  const zoneToken = t.atom();
  if (zoneToken === null || (zoneToken === '' && !t.done)) return null;
  const zone = zoneToken === '' ? 0 : zoneOffset(zoneToken);
  const time = utcTime(year, month, day, Number(hourToken), Number(minuteToken), second);
  return time === null ? null : { time: time - zone * 60, zone };
}

