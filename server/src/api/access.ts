import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Credentials } from '../guard/credentials.js';
import { sameText } from '../guard/credentials.js';
import type { LoginThrottle } from '../guard/login-throttle.js';

export interface AccessOptions {
  /** The address the HTTP server listens on; a host name there is one the server answers to. */
  listen: string;
  /** More host names to answer to (`name`, `.domain`), or ['*'] for any. */
  allowedHosts: readonly string[];
  /** Origins whose pages may call the API (CORS), or ['*']. */
  corsOrigins: readonly string[];
  /** Basic-auth logins, if the inbox needs them. */
  users: Credentials | null;
  /** Bearer token, if the API needs one. */
  token: string | null;
  throttle: LoginThrottle;
}

/** A refused request: its status and the `{ error, message }` body. */
export interface Denial {
  status: 401 | 403;
  error: 'forbidden_host' | 'forbidden_origin' | 'unauthorized';
  message: string;
}

/** What the checks need of a request, from Fastify or straight from Node (socket.io). */
export interface RequestFacts {
  headers: IncomingHttpHeaders;
  /** Path without the query. */
  path: string;
  remoteAddress: string | undefined;
}

/** Routes a health check reaches without credentials: they tell whether Mailroom is up, nothing of the mail (Mailpit's probes included, open in Mailpit too). */
const OPEN_PATHS = new Set(['/api/health', '/livez', '/readyz']);
/** Authorization header values already verified, so bcrypt runs once per login and not per request. */
const VERIFIED_CACHE_SIZE = 256;

export const BASIC_CHALLENGE = 'Basic realm="Mailroom", charset="UTF-8"';

/**
 * Who may talk to the HTTP server, checked for every route and for socket.io:
 *
 * - Host: a page on a name that an attacker's DNS points at 127.0.0.1 (DNS
 *   rebinding) is same-origin with that name, so only names Mailroom knows
 *   are answered. IP addresses are always answered: a page can only be on an
 *   IP address's origin if it was served from there (Vite's allowedHosts rule).
 * - Origin: requests a page makes from another origin carry an Origin header
 *   (CORS requests, WebSocket handshakes, form and no-cors POSTs); only
 *   Mailroom's own origin and the --api-cors origins pass. Cross-site loads
 *   without Origin (`<script src>`, `<img src>`) are told by Fetch Metadata
 *   (`Sec-Fetch-Site`); only top-level navigation, which shows the user the
 *   response and gives the page nothing, passes.
 * - Credentials, when --ui-auth or --api-token is set.
 */
export class Access {
  private readonly verified = new Map<string, true>();

  constructor(private readonly options: AccessOptions) {}

  get needsAuth(): boolean {
    return this.options.users !== null || this.options.token !== null;
  }

  async check(request: RequestFacts): Promise<Denial | null> {
    return this.checkSource(request.headers) ?? (await this.checkCredentials(request));
  }

  /** Host and origin: synchronous, and run before anything else. */
  checkSource(headers: IncomingHttpHeaders): Denial | null {
    const host = parseHost(headers.host);
    if (host !== null && !this.hostAllowed(host.name)) {
      return {
        status: 403,
        error: 'forbidden_host',
        message: `Host "${host.name}" is not allowed; start Mailroom with --allowed-hosts ${host.name} to answer it`,
      };
    }
    const origin = headers.origin;
    const cors = this.options.corsOrigins;
    if (origin !== undefined) {
      if (cors.includes('*') || cors.includes(origin) || sameOrigin(origin, host)) return null;
      return { status: 403, error: 'forbidden_origin', message: `Origin ${origin} may not call this server; start Mailroom with --api-cors ${origin} to allow it` };
    }
    const site = headers['sec-fetch-site'];
    if ((site === 'cross-site' || site === 'same-site') && headers['sec-fetch-mode'] !== 'navigate' && !cors.includes('*')) {
      return { status: 403, error: 'forbidden_origin', message: 'A page on another site may not load this' };
    }
    return null;
  }

  private async checkCredentials(request: RequestFacts): Promise<Denial | null> {
    if (!this.needsAuth) return null;
    const header = request.headers.authorization;
    // Open routes still check credentials that are sent, so a health check with a wrong token fails.
    if ((header === undefined || header === '') && OPEN_PATHS.has(request.path)) return null;
    if (header === undefined || header === '') return unauthorized('Credentials required: basic auth, or Authorization: Bearer <token>');
    if (this.verified.has(header)) return null;
    // Every guess waits its turn, right or wrong, so answers cannot be told apart by their speed.
    await this.options.throttle.admit(request.remoteAddress);
    if (await this.verify(header)) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(header, true);
      return null;
    }
    this.options.throttle.failed(request.remoteAddress);
    return unauthorized('Wrong credentials');
  }

  private async verify(header: string): Promise<boolean> {
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    const { token, users } = this.options;
    if (scheme === 'bearer') return token !== null && sameText(token, value);
    if (scheme !== 'basic') return false;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // With a token, a browser's basic-auth prompt takes it as the password, whatever the user name.
    if (token !== null && sameText(token, password)) return true;
    return users !== null && (await users.verify(user, password));
  }

  private hostAllowed(name: string): boolean {
    const { allowedHosts, listen } = this.options;
    if (allowedHosts.includes('*') || isIP(name) !== 0) return true;
    if (name === 'localhost' || name.endsWith('.localhost') || name === listen.toLowerCase()) return true;
    return allowedHosts.some((entry) => (entry.startsWith('.') ? name === entry.slice(1) || name.endsWith(entry) : name === entry));
  }
}

function unauthorized(message: string): Denial {
  return { status: 401, error: 'unauthorized', message };
}

interface Host {
  /** Lower case, without brackets or a trailing dot. */
  name: string;
  /** As written, '' when absent. */
  port: string;
}

/** The Host header's name and port; null when there is none (HTTP/1.0 clients, which are not browsers). */
export function parseHost(header: string | undefined): Host | null {
  if (header === undefined || header === '') return null;
  const text = header.trim().toLowerCase();
  let name: string;
  let port = '';
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    name = text.slice(1, close < 0 ? text.length : close);
    if (close >= 0 && text[close + 1] === ':') port = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    name = colon < 0 ? text : text.slice(0, colon);
    if (colon >= 0) port = text.slice(colon + 1);
  }
  return { name: name.endsWith('.') ? name.slice(0, -1) : name, port };
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * Whether a page's origin is the server's own, by the name and port the
 * request was sent to. The scheme is not compared: behind a TLS proxy the
 * page is https while Mailroom serves http.
 */
function sameOrigin(origin: string, host: Host | null): boolean {
  if (host === null) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) return false;
  const name = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return name === host.name && (url.port || defaultPort) === (host.port || defaultPort);
}
