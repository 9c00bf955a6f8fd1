import { goTime } from '../go-json.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The layouts Go's net/mail.ParseDate tries: an optional `Mon, `, day, month, 4- or 2-digit year,
 * hh:mm with optional :ss, and a zone (`-0700`, or letters such as `UT`, `GMT`, `MST`); comments
 * and anything else after the zone are ignored.
 */
const LAYOUT = /^ *(?:[A-Za-z]{3}, +)?(\d{1,2}) +([A-Za-z]{3}) +(\d{4}|\d{2}) +(\d{1,2}):(\d{2})(?::(\d{2}))? +([+-]\d{4}|[A-Z]{2,5})(?![A-Za-z])/;

/** Go's RFC3339Nano for a whole-second instant at a fixed offset: `Z` for a zero offset. */
function rfc3339At(epochMs: number, offsetMinutes: number): string {
  const wall = new Date(epochMs + offsetMinutes * 60_000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${wall}Z`;
  const abs = Math.abs(offsetMinutes);
  return `${wall}${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * Mailpit's Date in message detail: the Date header as Go reads it, in the header's own offset.
 * A zone written as letters is taken as UTC with the clock as written, as Go does with a zone
 * abbreviation it does not know (Mailroom answers as a Mailpit running in UTC). A header Go
 * cannot parse, or none, gives the receive time.
 */
export function messageDate(header: string | undefined, receivedAt: number): string {
  const match = header === undefined ? null : LAYOUT.exec(header.replaceAll('\r\n', ''));
  if (match === null) return goTime(receivedAt);
  const [, day, monthName, yearText, hour, minute, second, zone] = match;
  const month = MONTHS.indexOf(monthName!.toLowerCase());
  const shortYear = Number(yearText);
  const year = yearText!.length === 2 ? (shortYear >= 69 ? 1900 + shortYear : 2000 + shortYear) : shortYear;
  const offset = zone!.startsWith('+') || zone!.startsWith('-') ? (zone![0] === '-' ? -1 : 1) * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(3, 5))) : 0;
  const daysInMonth = new Date(Date.UTC(2000, month + 1, 0)).getUTCDate() - (month === 1 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0);
  const valid = month >= 0 && Number(day) >= 1 && Number(day) <= daysInMonth && Number(hour) <= 23 && Number(minute) <= 59 && Number(second ?? 0) <= 59 && Math.abs(offset) < 25 * 60;
  if (!valid) return goTime(receivedAt);
  const wall = new Date(Date.UTC(2000, month, Number(day), Number(hour), Number(minute), Number(second ?? 0)));
  wall.setUTCFullYear(year);
  return rfc3339At(wall.getTime() - offset * 60_000, offset);
}
