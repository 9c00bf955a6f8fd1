/**
 * Dates as Mailpit reads them in `before:`/`after:` search terms and the `before` list parameter.
 * Mailpit hands them to araddon/dateparse, which guesses among hundreds of layouts; these are the
 * ones people type into a search box. Anything else is unparsable, and Mailpit ignores a term
 * whose date it cannot parse, so the cost of a layout missing here is a term ignored, never an
 * error. A time without a zone is wall-clock time in the given IANA zone (Mailpit's `tz`
 * parameter), or in the server's local zone when there is none or it is unknown.
 */

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const FULL_MONTH_NAMES = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'];

/** Hours, minutes, optional seconds and fraction, then an optional zone. */
const TIME = String.raw`(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:\s?(Z|UTC|GMT|[+-]\d{2}:?\d{2}))?`;
const YMD_DASH = new RegExp(String.raw`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]${TIME})?$`);
const YMD_SLASH = new RegExp(String.raw`^(\d{4})/(\d{1,2})/(\d{1,2})(?: ${TIME})?$`);
/** dateparse reads slashed dates month first, as in the US. */
const MDY_SLASH = new RegExp(String.raw`^(\d{1,2})/(\d{1,2})/(\d{4})(?: ${TIME})?$`);
const DAY_MONTH_YEAR = new RegExp(String.raw`^(\d{1,2})[ -]([A-Z]{3,9})[ -](\d{4})(?: ${TIME})?$`);
const MONTH_DAY_YEAR = new RegExp(String.raw`^([A-Z]{3,9})[ -](\d{1,2})[ -](\d{4})(?: ${TIME})?$`);
const COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
const WEEKDAY = /^(?:MON|TUE|WED|THU|FRI|SAT|SUN)[A-Z]{0,6} /;

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** Minutes east of UTC written in the text; null when it names no zone. */
  offset: number | null;
}

function monthNumber(name: string): number {
  const index = name.length === 3 ? MONTH_NAMES.indexOf(name) : FULL_MONTH_NAMES.indexOf(name);
  return index < 0 ? NaN : index + 1;
}

function zoneOffset(zone: string | undefined): number | null {
  if (zone === undefined) return null;
  if (zone === 'Z' || zone === 'UTC' || zone === 'GMT') return 0;
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return zone[0] === '-' ? -minutes : minutes;
}

function wallOf(year: string, month: number, day: string, time: (string | undefined)[]): Wall {
  const [hour, minute, second, fraction, zone] = time;
  return {
    year: Number(year),
    month,
    day: Number(day),
    hour: Number(hour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
    ms: fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000),
    offset: zoneOffset(zone),
  };
}

function readWall(text: string): Wall | null {
  let m = YMD_DASH.exec(text) ?? YMD_SLASH.exec(text);
  if (m) return wallOf(m[1]!, Number(m[2]), m[3]!, m.slice(4));
  if ((m = MDY_SLASH.exec(text))) return wallOf(m[3]!, Number(m[1]), m[2]!, m.slice(4));
  if ((m = DAY_MONTH_YEAR.exec(text))) return wallOf(m[3]!, monthNumber(m[2]!), m[1]!, m.slice(4));
  if ((m = MONTH_DAY_YEAR.exec(text))) return wallOf(m[3]!, monthNumber(m[1]!), m[2]!, m.slice(4));
  if ((m = COMPACT.exec(text))) return wallOf(m[1]!, Number(m[2]), m[3]!, []);
  return null;
}

function valid(w: Wall): boolean {
  const daysInMonth = new Date(Date.UTC(2000, w.month, 0)).getUTCDate() - (w.month === 2 && !leapYear(w.year) ? 1 : 0);
  return w.month >= 1 && w.month <= 12 && w.day >= 1 && w.day <= daysInMonth && w.hour <= 23 && w.minute <= 59 && w.second <= 59;
}

function leapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Date.UTC without its reading of years 0–99 as 1900–1999. */
function utc(w: Wall): number {
  const date = new Date(Date.UTC(2000, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms));
  date.setUTCFullYear(w.year);
  return date.getTime();
}

/** One formatter per zone asked for; a handful in practice, bounded all the same. */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 64;

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (found === undefined) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    if (formatters.size >= MAX_FORMATTERS) formatters.delete(formatters.keys().next().value!);
    formatters.set(zone, found);
  }
  return found;
}

/** How far the zone's wall clock is ahead of UTC at an instant, in milliseconds. */
function offsetAt(zone: string, epoch: number): number {
  const fields: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(epoch))) fields[part.type] = part.value;
  const year = fields.era === 'BC' ? 1 - Number(fields.year) : Number(fields.year);
  const wall = utc({ year, month: Number(fields.month), day: Number(fields.day), hour: Number(fields.hour) % 24, minute: Number(fields.minute), second: Number(fields.second), ms: 0, offset: null });
  return wall - (epoch - (((epoch % 1000) + 1000) % 1000));
}

function toEpoch(w: Wall, zone: string | null): number {
  if (w.offset !== null) return utc(w) - w.offset * 60_000;
  if (zone === null) {
    const local = new Date(2000, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
    local.setFullYear(w.year);
    return local.getTime();
  }
  const asUtc = utc(w);
  const first = offsetAt(zone, asUtc);
  const second = offsetAt(zone, asUtc - first);
  // Across a DST change the offset at the guess differs from the one at the answer; the latter is right.
  return asUtc - second;
}

/** The IANA zone named by Mailpit's `tz` parameter, or null (local time) when it is empty or unknown, as Mailpit ignores a zone it cannot load. */
export function searchZone(tz: string | undefined): string | null {
  if (tz === undefined || tz === '' || tz === 'Local') return null;
  try {
    formatter(tz);
    return tz;
  } catch {
    return null;
  }
}

/**
 * Epoch milliseconds of a date as dateparse would read it (case-insensitive), or null when it is
 * not one of the layouts above. Ten digits are Unix seconds and thirteen Unix milliseconds, as
 * dateparse takes them.
 */
export function parseSearchDate(text: string, zone: string | null): number | null {
  const upper = text.trim().toUpperCase();
  if (/^\d{10}$/.test(upper)) return Number(upper) * 1000;
  if (/^\d{13}$/.test(upper)) return Number(upper);
  const wall = readWall(upper.replace(WEEKDAY, ''));
  if (wall === null || !valid(wall)) return null;
  return toEpoch(wall, zone);
}
