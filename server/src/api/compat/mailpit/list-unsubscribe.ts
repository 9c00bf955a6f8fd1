import { goTrimSpace } from './clean.js';

/** Mailpit's ListUnsubscribe object, keys in its order. */
export interface ListUnsubscribe {
  Header: string;
  Links: string[];
  Errors: string;
  HeaderPost: string;
}

/** Pairs [open, close) of each non-overlapping `open…close` run, shortest first as Go's ungreedy `open(.*)close` finds them. */
function* spans(text: string, open: string, close: string, acrossLines: boolean): Generator<[number, number]> {
  let from = 0;
  for (;;) {
    const start = text.indexOf(open, from);
    if (start < 0) return;
    const end = text.indexOf(close, start + 1);
    if (end < 0) return;
    const lineBreak = acrossLines ? -1 : text.indexOf('\n', start + 1);
    if (lineBreak >= 0 && lineBreak < end) {
      // No match can start on this line any more: every later `open` on it meets the same line break first.
      from = lineBreak + 1;
      continue;
    }
    yield [start, end + 1];
    from = end + 1;
  }
}

const GO_SPACE = /[\t\n\f\r ]/;

/**
 * Mailpit's ListUnsubscribeParser (internal/tools/listunsubscribeparser.go): the `<…>` links of
 * a List-Unsubscribe header, at most one mailto: and one http(s), and what is wrong with the
 * header, in its words. Written with indexOf scans rather than its regular expressions, which
 * would take quadratic time on a hostile header. It does not run Go's url.ParseRequestURI on each
 * link, so a link Go cannot parse (a bad %-escape) is listed rather than reported.
 */
function parseLinks(header: string): { links: string[]; error: string } {
  let value = goTrimSpace(header);
  const comments = [...spans(value, '(', ')', true)].map(([start, end]) => value.slice(start, end));
  for (const comment of comments) value = goTrimSpace(value.replaceAll(comment, ''));
  const links = [...spans(value, '<', '>', false)].map(([start, end]) => value.slice(start + 1, end - 1));
  if (links.length === 0) return { links: [], error: `"${value}" no valid unsubscribe links found` };
  if (!value.startsWith('<') || !value.endsWith('>')) return { links: [], error: `"${value}" should be enclosed in <>` };
  const errors: string[] = [];
  const found: string[] = [];
  if (links.length > 2) {
    errors.push(`"${value}" should include a maximum of one email and one HTTP link`);
  } else {
    for (const [start, end] of spans(value, '>', '<', true)) {
      if (!/^[\t\n\f\r ]*,[\t\n\f\r ]*$/m.test(value.slice(start + 1, end - 1))) {
        return { links: [], error: `"${value}" <> should be split with a comma and optional spaces` };
      }
    }
    let mailto = false;
    let http = false;
    for (const link of links) {
      if (GO_SPACE.test(link)) {
        errors.push(`"${link}" should not contain spaces`);
      } else if (/^mailto:[a-zA-Z0-9]/.test(link)) {
        if (mailto) errors.push(`"${link}" should only contain one mailto:`);
        else {
          mailto = true;
          found.push(link);
        }
      } else if (/^https?:\/\/[a-zA-Z0-9]/i.test(link)) {
        if (http) errors.push(`"${link}" should only contain one HTTP link`);
        else {
          http = true;
          found.push(link);
        }
      } else {
        errors.push(`"${link}" should start with either http(s):// or mailto:`);
      }
    }
  }
  return { links: found, error: errors.join(', ') };
}

/** The detail's ListUnsubscribe from the decoded List-Unsubscribe and List-Unsubscribe-Post values ('' when absent). */
export function listUnsubscribe(header: string, post: string): ListUnsubscribe {
  if (header === '') return { Header: '', Links: [], Errors: '', HeaderPost: '' };
  const { links, error } = parseLinks(header);
  return { Header: header, Links: links, Errors: error, HeaderPost: post };
}
