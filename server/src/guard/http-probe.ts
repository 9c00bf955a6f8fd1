/**
 * A browser can be made to send an HTTP request to any port (a page's
 * `fetch('http://127.0.0.1:1143/', { method: 'POST', mode: 'no-cors', body })`),
 * and a line protocol that answers each bad line with an error and reads on
 * will run whatever commands the body holds. So a line protocol closes the
 * connection at the first sign of HTTP: a request line first, or a header
 * line before login. Mail protocols never send either.
 */
const REQUEST_LINE = /^(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|TRACE|CONNECT|PRI) [^ ]/i;
/** `Name: value` with an RFC 9110 token as the name. */
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]/;

/** Whether a client's first line is an HTTP request line. */
export function isHttpRequestLine(line: string): boolean {
  return REQUEST_LINE.test(line);
}

/** Whether a line sent before login looks like an HTTP header field. */
export function isHttpHeaderLine(line: string): boolean {
  return HEADER_LINE.test(line);
}
