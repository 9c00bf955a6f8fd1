import { createHash } from 'node:crypto';
import { ANY, AUTHENTICATED, CommandError, astring, bad, expectArgs, keyword, no, type CommandSpec } from './command.js';
import type { ImapSession } from '../session.js';
import type { ImapValue } from '../wire/types.js';

/** RFC 3501 §6.1.1. */
export const capability: CommandSpec = {
  states: ANY,
  handle(session, command) {
    expectArgs(command, 0);
    session.send(`* CAPABILITY ${session.capabilities().join(' ')}`);
  },
};

/** RFC 3501 §6.1.2: does nothing, which lets pending updates out (§7.4.1). */
export const noop: CommandSpec = {
  states: ANY,
  handle(_session, command) {
    expectArgs(command, 0);
  },
};

/** RFC 3501 §6.1.3. */
export const logout: CommandSpec = {
  states: ANY,
  handle(session, command) {
    expectArgs(command, 0);
    session.logout();
    return { after: () => session.close() };
  },
};

/** RFC 2971: the server says who it is; what the client says is only logged. */
export const id: CommandSpec = {
  states: ANY,
  handle(session, command) {
    const [params] = expectArgs(command, 1);
    if (params!.type === 'list') {
      const items = params!.items;
      if (items.length % 2 !== 0 || items.length > 60) throw bad('ID takes field/value pairs');
    } else if (params!.type !== 'atom' || params!.value.toUpperCase() !== 'NIL') throw bad('ID takes a list or NIL');
    session.send(`* ID ("name" "Mailroom" "version" "${session.ctx.version}" "vendor" "Mailroom")`);
  },
};

/** RFC 5161 (§3.1: authenticated state only): Mailroom has no extension that needs enabling, so nothing is enabled. */
export const enable: CommandSpec = {
  states: ['authenticated'],
  handle(session, command) {
    if (command.args.length === 0) throw bad('ENABLE needs at least one capability');
    for (const arg of command.args) keyword(arg, 'a capability name');
    session.send('* ENABLED');
  },
};

/** RFC 2342: one personal namespace with no prefix. */
export const namespace: CommandSpec = {
  states: AUTHENTICATED,
  handle(session, command) {
    expectArgs(command, 0);
    session.send('* NAMESPACE (("" "/")) NIL NIL');
  },
};

/** RFC 3501 §6.2.1. */
export const starttls: CommandSpec = {
  states: ['notAuthenticated'],
  handle(session, command) {
    expectArgs(command, 0);
    if (!session.ctx.tls) throw bad('TLS is not configured (start Mailroom with --tls)');
    if (session.secure) throw bad('TLS is already active');
    return { text: 'Begin TLS negotiation now', after: () => session.startTls() };
  },
};

/** Failed logins a connection may make before it is closed, so passwords cannot be tried without end. */
const MAX_FAILED_LOGINS = 5;

/**
 * Checks a login. With --imap-auth, each attempt first waits its turn in the
 * throttle shared by every protocol, and a failure makes the next attempt
 * from that address wait longer; without, any password is right, so nothing
 * waits.
 */
async function logIn(session: ImapSession, user: string, password: string): Promise<{ code: string; text: string }> {
  const { credentials, throttle } = session.ctx;
  const address = session.remoteAddress;
  if (credentials !== null) await throttle.admit(address);
  if (session.isClosed) throw no('Connection closed');
  if (user === '' || (credentials !== null && !sameSecret(credentials.get(user), password))) {
    if (credentials !== null) throttle.failed(address);
    const error = no('Invalid user name or password', 'AUTHENTICATIONFAILED');
    if (++session.failedLogins >= MAX_FAILED_LOGINS) {
      error.after = () => {
        session.send('* BYE Too many failed logins');
        session.close();
      };
    }
    throw error;
  }
  session.state = { kind: 'authenticated', user, account: session.ctx.accounts.acquire(user) };
  // Dovecot's habit, which saves clients a CAPABILITY round trip (RFC 3501 §7.1 allows it).
  return { code: `CAPABILITY ${session.capabilities().join(' ')}`, text: 'Logged in' };
}

/** Compares through digests so the time taken does not depend on where the strings differ. */
function sameSecret(secret: string | undefined, given: string): boolean {
  if (secret === undefined) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return digest(secret).equals(digest(given));
}

/** RFC 3501 §6.2.3. */
export const login: CommandSpec = {
  states: ['notAuthenticated'],
  handle(session, command) {
    const [user, password] = expectArgs(command, 2);
    return logIn(session, astring(user, 'a user name'), astring(password, 'a password'));
  },
};

/** RFC 4616 PLAIN: authzid NUL authcid NUL passwd, base64; "=" is an empty initial response (RFC 4959). */
function plain(session: ImapSession, encoded: string): Promise<{ code: string; text: string }> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw bad('Invalid base64 in the SASL response');
  const parts = Buffer.from(encoded === '=' ? '' : encoded, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3) throw no('Malformed PLAIN credentials', 'AUTHENTICATIONFAILED');
  const [authzid, user, password] = parts as [string, string, string];
  if (authzid !== '' && authzid !== user) throw no('Cannot act as another user', 'AUTHENTICATIONFAILED');
  return logIn(session, user, password);
}

/** RFC 3501 §6.2.2 with SASL-IR (RFC 4959). */
export const authenticate: CommandSpec = {
  states: ['notAuthenticated'],
  handle(session, command) {
    const [mechanism, initial] = expectArgs(command, 1, 2);
    if (keyword(mechanism, 'a SASL mechanism') !== 'PLAIN') throw no('Unsupported authentication mechanism; use PLAIN', 'CANNOT');
    if (initial !== undefined) return plain(session, astring(initial as ImapValue, 'an initial response'));
    session.send('+ ');
    session.lineMode(async (line) => {
      session.endLineMode();
      const text = line.toString('latin1');
      // RFC 3501 §6.2.2: a lone "*" cancels.
      if (text === '*') return session.complete(command.tag, 'AUTHENTICATE', bad('Authentication cancelled'));
      try {
        session.complete(command.tag, 'AUTHENTICATE', await plain(session, text));
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        session.complete(command.tag, 'AUTHENTICATE', error);
      }
    });
    return 'pending';
  },
};
