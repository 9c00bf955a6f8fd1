/**
 * A throwaway Dovecot 2.3 (Debian's dovecot-imapd + dovecot-pop3d) as a
 * reference IMAP/POP3 server for tests: its own config, base_dir, state and
 * Maildir under one temp dir, listening on two free loopback ports, loaded with
 * the given raw messages in order. Never touches /etc/dovecot or the system
 * service.
 *
 *   const dovecot = await startDovecot([raw1, raw2]);
 *   afterAll(() => dovecot.stop());
 *   const [first] = await fetchEach(dovecot, 'BODYSTRUCTURE ENVELOPE RFC822.SIZE');
 *   const text = await imapRaw(dovecot, ['FETCH 1 BODY.PEEK[HEADER]']);
 *
 * Or, on a Maildir that is already there (another program's, left as it is
 * but for what Dovecot itself writes: its index, uidlist and moves from new/
 * to cur/):
 *
 *   const dovecot = await startDovecot([], { maildir: '/path/to/Maildir' });
 *
 * How the messages are stored (and what Dovecot then serves):
 * - Each message is written verbatim to `Maildir/cur/<T+i>.M<i>P1.mailroom,S=<bytes>:2,<flags>`
 *   before Dovecot starts, and a `dovecot-uidlist` is written next to them that
 *   gives message i UID i (UIDVALIDITY = options.uidValidity, default 1), so
 *   sequence numbers and UIDs follow the input order exactly, and \Recent is
 *   never set (0 RECENT) however many sessions come and go.
 * - INTERNALDATE is the file's mtime: options.internalDates[i], by default
 *   2024-01-01T00:00:00Z plus i seconds. Dovecot runs with TZ=UTC so it prints
 *   "01-Jan-2024 00:00:00 +0000".
 * - `S=` is the file's byte size (Dovecot trusts it as the physical size: a
 *   wrong S= makes FETCH fail with "Cached message size larger than expected").
 *   No `W=` is written, so Dovecot computes RFC822.SIZE itself.
 * - Bare LF line ends are kept in the file as they are, but Dovecot serves
 *   every message with CRLF line ends: each lone LF becomes CRLF in BODY[],
 *   BODY[HEADER]/[TEXT]/[n] and the literal sizes, RFC822.SIZE is the size of
 *   that CRLF form (file size + number of bare LFs), and the octet sizes in
 *   BODYSTRUCTURE count CRLFs too. So a CRLF message comes back byte-exact, a
 *   bare-LF one comes back CRLF-normalised. (POP3 LIST/STAT/RETR do the same.)
 *   A bare CR is served as is; a NUL byte is served as 0x80 in BODY[] (raw in
 *   BINARY[]); a missing final line end is not added; a message with no blank
 *   line is all header (BODYSTRUCTURE size 0, lines 0).
 * - ENVELOPE strings holding `"`, `\` or 8-bit bytes are sent as
 *   `{n}` literals, never as escaped quoted strings; encoded words are not
 *   decoded. Tagged OK lines end in timings, e.g. "(0.001 + 0.000 secs)"
 *   (see stripTimings()).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, lchown, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ImapClient, imapQuote, wireText, type ImapClientOptions, type ImapReply } from './imap-client.js';
import { Pop3Client } from './pop3-client.js';

export { ImapClient, imapQuote, literals, responseBytes, stripTimings, wireText, type ImapReply } from './imap-client.js';
export { Pop3Client, isMultiline } from './pop3-client.js';

export type MaildirFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft';

export interface DovecotOptions {
  user?: string;
  password?: string;
  /** INTERNALDATE per message (file mtime, whole seconds); default 2024-01-01T00:00:00Z + i s. */
  internalDates?: readonly Date[];
  /** System flags per message; default none. */
  flags?: readonly (readonly MaildirFlag[])[];
  /** UIDVALIDITY of INBOX; default 1. */
  uidValidity?: number;
  /** Path of the dovecot binary; default $DOVECOT_BIN or /usr/sbin/dovecot. */
  binary?: string;
  /** Extra lines appended to the generated dovecot.conf (later settings win). */
  extraConfig?: string;
  /** Sets mail_debug and auth_debug. */
  debug?: boolean;
  /** Time allowed for start-up (including the first login); default 20 s. */
  startTimeoutMs?: number;
  /** Keep the temp dir after stop(), for debugging. */
  keepDir?: boolean;
  /**
   * Serve this existing Maildir (with cur/, new/ and tmp/) as INBOX instead of
   * writing one: `messages` must be empty and internalDates, flags and
   * uidValidity unset, since Dovecot takes everything from the directory
   * (UIDs in the order it finds the files, UIDVALIDITY its own). As root the
   * tree is handed to the mail user (Dovecot will not access mail as root)
   * and given back to the Maildir's owner by stop(), files Dovecot made included.
   */
  maildir?: string;
}

export interface Dovecot {
  host: '127.0.0.1';
  imapPort: number;
  pop3Port: number;
  user: string;
  password: string;
  /** Number of messages loaded into INBOX (sequence numbers 1..count, UIDs 1..count; with options.maildir, the files in its cur/ and new/ and UIDs as Dovecot gave them). */
  count: number;
  uidValidity: number;
  /** The temp dir holding dovecot.conf, dovecot.log, run/, state/ and Maildir/ (that one not with options.maildir). */
  dir: string;
  /** The Maildir served as INBOX: dir/Maildir, or options.maildir. */
  maildir: string;
  /** The generated dovecot.conf. */
  config: string;
  /** Dovecot's log so far (log file plus the master's stderr). */
  log(): string;
  /** Kills Dovecot (the whole process group) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_BINARY = '/usr/sbin/dovecot';
const DEFAULT_DATE = Date.UTC(2024, 0, 1) / 1000;
const FLAG_LETTERS: Record<MaildirFlag, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};

export function dovecotBinary(binary?: string): string {
  return binary ?? process.env.DOVECOT_BIN ?? DEFAULT_BINARY;
}

interface MailOwner {
  uid: number;
  gid: number;
  /** Running as a non-root user: settings to add, and chroot off (only root may chroot). */
  rootless: string[];
}

/**
 * Dovecot refuses mail access as uid 0 ("userdb returned 0 as uid"), so as
 * root the mail is owned by and accessed as `nobody`; the daemons run as the
 * package's `dovecot`/`dovenull` users as usual. Not as root, everything runs
 * as the current user.
 */
function mailOwner(): MailOwner {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) {
    const id = (flag: string, fallback: number): number => {
      try {
        return Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
      } catch {
        return fallback;
      }
    };
    return { uid: id('-u', 65534), gid: id('-g', 65534), rootless: [] };
  }
  const gid = process.getgid?.() ?? uid;
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
  return {
    uid,
    gid,
    rootless: [
      `default_internal_user = ${user}`,
      `default_internal_group = ${group}`,
      `default_login_user = ${user}`,
      `first_valid_uid = ${uid}`,
      `first_valid_gid = ${gid}`,
      'service anvil {\n  chroot =\n}',
    ],
  };
}

function renderConfig(p: {
  dir: string;
  maildir: string;
  imapPort: number;
  pop3Port: number;
  user: string;
  password: string;
  owner: MailOwner;
  debug: boolean;
  extra: string;
}): string {
  return `# Generated by test/helpers/dovecot/dovecot.ts: a throwaway test instance.
instance_name = mailroom-test-${p.imapPort}
base_dir = ${p.dir}/run
state_dir = ${p.dir}/state
log_path = ${p.dir}/dovecot.log
${p.owner.rootless.join('\n')}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
mail_location = maildir:${p.maildir}
mail_fsync = never
mail_max_userip_connections = 10000
mail_debug = ${p.debug ? 'yes' : 'no'}
auth_debug = ${p.debug ? 'yes' : 'no'}

passdb {
  driver = static
  args = password=${p.password}
}
userdb {
  driver = static
  args = uid=${p.owner.uid} gid=${p.owner.gid} home=${p.dir}/home
}

service imap-login {${p.owner.rootless.length ? '\n  chroot =' : ''}
  inet_listener imap {
    address = 127.0.0.1
    port = ${p.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {${p.owner.rootless.length ? '\n  chroot =' : ''}
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${p.pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
}
${p.extra}
`;
}

/** Two distinct free loopback ports (held open together so they differ, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

async function writeMaildir(dir: string, messages: readonly Buffer[], options: DovecotOptions, owner: MailOwner, uidValidity: number): Promise<void> {
  const maildir = join(dir, 'Maildir');
  const home = join(dir, 'home');
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, sub), { recursive: true });
  await mkdir(home);
  const uidlist: string[] = [`3 V${uidValidity} N${messages.length + 1}`];
  const paths: string[] = [];
  await Promise.all(
    messages.map(async (message, i) => {
      const base = `${DEFAULT_DATE + i}.M${i + 1}P1.mailroom,S=${message.length}`;
      const letters = (options.flags?.[i] ?? []).map((flag) => FLAG_LETTERS[flag]).sort().join('');
      const path = join(maildir, 'cur', `${base}:2,${letters}`);
      uidlist[i + 1] = `${i + 1} :${base}`;
      paths[i] = path;
      await writeFile(path, message);
      const date = options.internalDates?.[i] ?? new Date((DEFAULT_DATE + i) * 1000);
      await utimes(path, date, date);
    }),
  );
  await writeFile(join(maildir, 'dovecot-uidlist'), `${uidlist.join('\n')}\n`);
  if (owner.rootless.length === 0) {
    const owned = [home, maildir, ...['cur', 'new', 'tmp', 'dovecot-uidlist'].map((name) => join(maildir, name)), ...paths];
    await Promise.all(owned.map((path) => chown(path, owner.uid, owner.gid)));
  }
}

/** The messages in a Maildir as Dovecot counts them: the files in cur/ and new/ but dot files. */
async function countMaildir(maildir: string): Promise<number> {
  let count = 0;
  for (const sub of ['cur', 'new']) count += (await readdir(join(maildir, sub))).filter((name) => !name.startsWith('.')).length;
  return count;
}

async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  const paths = [root, ...(await readdir(root, { recursive: true })).map((name) => join(root, name))];
  // lchown: a symlink in someone's Maildir must not hand over what it points to.
  await Promise.all(paths.map((path) => lchown(path, uid, gid)));
}

/**
 * Lets the mail user at an existing Maildir: as root, by handing the tree to
 * `nobody` (the files may be 0600); otherwise the mail user is the current
 * user, who owns it already or cannot change that. Returns what gives it back.
 */
async function lendMaildir(maildir: string, owner: MailOwner): Promise<() => Promise<void>> {
  const { uid, gid } = await stat(maildir);
  if (owner.rootless.length > 0 || (uid === owner.uid && gid === owner.gid)) return async () => undefined;
  await chownTree(maildir, owner.uid, owner.gid);
  return () => chownTree(maildir, uid, gid);
}

/**
 * Starts a Dovecot with `messages` (raw RFC 5322 bytes; strings are UTF-8
 * encoded) in INBOX, in order, and resolves once IMAP answers a LOGIN +
 * EXAMINE with the right EXISTS count and POP3 greets. Throws with Dovecot's
 * log on failure.
 */
export async function startDovecot(messages: readonly (Buffer | string)[], options: DovecotOptions = {}): Promise<Dovecot> {
  const binary = dovecotBinary(options.binary);
  if (!existsSync(binary)) {
    throw new Error(`${binary} not found: install Debian's dovecot-imapd and dovecot-pop3d (apt-get install -y dovecot-imapd dovecot-pop3d)`);
  }
  const raw = messages.map((message) => (typeof message === 'string' ? Buffer.from(message, 'utf8') : message));
  const user = options.user ?? 'mailroom';
  const password = options.password ?? 'secret';
  // they go unquoted into dovecot.conf and the static passdb's args
  if (!/^[\w.@+-]+$/.test(user) || !/^[\w.@+-]+$/.test(password)) throw new Error('user and password: letters, digits and ._@+- only');
  const existing = options.maildir === undefined ? null : resolve(options.maildir);
  if (existing !== null) {
    if (raw.length > 0 || options.internalDates || options.flags || options.uidValidity !== undefined) {
      throw new Error('options.maildir serves the Maildir as it is: no messages, internalDates, flags or uidValidity with it');
    }
    // mail_location is not quoted, and ':' starts its next parameter
    if (/[\s:]/.test(existing)) throw new Error(`options.maildir: no white space or ':' in the path (${existing})`);
  }
  const uidValidity = options.uidValidity ?? 1;
  const owner = mailOwner();
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-dovecot-'));
  // mkdtemp makes it 0700; the mail (nobody) and login (dovenull) processes must get through it.
  await chmod(dir, 0o755);
  const maildir = existing ?? join(dir, 'Maildir');
  let giveBack = async (): Promise<void> => undefined;
  try {
    let count = raw.length;
    if (existing === null) {
      await writeMaildir(dir, raw, options, owner, uidValidity);
    } else {
      count = await countMaildir(existing);
      const home = join(dir, 'home');
      await mkdir(home);
      if (owner.rootless.length === 0) await chown(home, owner.uid, owner.gid);
      giveBack = await lendMaildir(existing, owner);
    }
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const [imapPort, pop3Port] = (await freePorts(2)) as [number, number];
      const config = renderConfig({ dir, maildir, imapPort, pop3Port, user, password, owner, debug: options.debug ?? false, extra: options.extraConfig ?? '' });
      try {
        return await launch({ binary, dir, maildir, config, imapPort, pop3Port, user, password, count, uidValidity: existing === null ? uidValidity : null, giveBack, options });
      } catch (error) {
        lastError = error as Error;
        // Another process took a port between freePorts() and Dovecot's bind: try new ones.
        if (!/Address already in use/.test(lastError.message)) throw lastError;
      }
    }
    throw lastError ?? new Error('Dovecot did not start');
  } catch (error) {
    await giveBack();
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(p: {
  binary: string;
  dir: string;
  maildir: string;
  config: string;
  imapPort: number;
  pop3Port: number;
  user: string;
  password: string;
  count: number;
  /** null: whatever Dovecot says (an existing Maildir's). */
  uidValidity: number | null;
  /** Run by stop() once Dovecot is gone. */
  giveBack: () => Promise<void>;
  options: DovecotOptions;
}): Promise<Dovecot> {
  const { dir } = p;
  const configPath = join(dir, 'dovecot.conf');
  const logPath = join(dir, 'dovecot.log');
  await rm(join(dir, 'run'), { recursive: true, force: true });
  await rm(join(dir, 'state'), { recursive: true, force: true });
  await rm(logPath, { force: true });
  await writeFile(configPath, p.config);

  // -F: stay in the foreground as our child. setpriv --pdeathsig makes the
  // kernel SIGTERM the master if the test process dies without stop(); the
  // master's children follow it. detached: own process group, killed whole in stop().
  const setpriv = '/usr/bin/setpriv';
  const [command, args] = existsSync(setpriv)
    ? [setpriv, ['--pdeathsig', 'SIGTERM', p.binary, '-F', '-c', configPath]]
    : [p.binary, ['-F', '-c', configPath]];
  const child: ChildProcess = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let exited: string | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `dovecot exited (code ${code}, signal ${signal})`;
      resolve();
    });
    child.once('error', (error) => {
      exited = `dovecot failed to spawn: ${error.message}`;
      resolve();
    });
  });

  const log = (): string => {
    let file = '';
    try {
      file = readFileSync(logPath, 'utf8');
    } catch {
      // not created yet
    }
    return file + (output ? `\n[stderr/stdout]\n${output}` : '');
  };

  const killGroup = (): void => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const onExit = (): void => killGroup();
  process.once('exit', onExit);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.off('exit', onExit);
      killGroup();
      await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await p.giveBack();
      if (!p.options.keepDir) await rm(dir, { recursive: true, force: true });
    })());

  const dovecot: Dovecot = {
    host: '127.0.0.1',
    imapPort: p.imapPort,
    pop3Port: p.pop3Port,
    user: p.user,
    password: p.password,
    count: p.count,
    uidValidity: p.uidValidity ?? 0,
    dir,
    maildir: p.maildir,
    config: p.config,
    log,
    stop,
  };

  const deadline = Date.now() + (p.options.startTimeoutMs ?? 20_000);
  try {
    // Wait for the IMAP greeting, then check a real login sees every message.
    let client: ImapClient | undefined;
    while (!client) {
      if (exited) throw new Error(exited);
      if (/Fatal: |startup failed/.test(log())) throw new Error('a Dovecot process failed');
      if (Date.now() > deadline) throw new Error('timed out waiting for the IMAP greeting');
      try {
        client = await ImapClient.connect(p.imapPort, { timeoutMs: 5_000 });
      } catch {
        await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 10))]);
      }
    }
    try {
      if (!client.greeting.startsWith('* OK')) throw new Error(`unexpected IMAP greeting: ${client.greeting}`);
      const login = await client.command(`LOGIN ${imapQuote(p.user)} ${imapQuote(p.password)}`);
      if (!/^\S+ OK/.test(login.tagged)) throw new Error(`LOGIN failed: ${login.tagged}`);
      const examine = await client.command('EXAMINE INBOX');
      if (!/^\S+ OK/.test(examine.tagged)) throw new Error(`EXAMINE INBOX failed: ${examine.tagged}`);
      const exists = examine.untagged.find((line) => / EXISTS$/.test(line));
      if (exists !== `* ${p.count} EXISTS`) throw new Error(`INBOX has ${exists ?? 'no EXISTS'}, expected ${p.count} messages`);
      if (p.uidValidity === null) {
        const said = examine.untagged.map((line) => /^\* OK \[UIDVALIDITY (\d+)\]/.exec(line)).find((match) => match !== null);
        if (!said) throw new Error(`EXAMINE INBOX gave no UIDVALIDITY:\n${examine.untagged.join('\n')}`);
        dovecot.uidValidity = Number(said[1]);
      }
    } finally {
      await client.logout();
    }
    const pop3 = await Pop3Client.connect(p.pop3Port, { timeoutMs: 5_000 });
    pop3.close();
    if (!pop3.greeting.startsWith('+OK')) throw new Error(`unexpected POP3 greeting: ${pop3.greeting}`);
    return dovecot;
  } catch (error) {
    // give a dying master a moment to write why
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, exited ? 0 : 50))]);
    const message = `Dovecot did not start: ${(error as Error).message}\n--- log ---\n${log()}\n--- ${configPath} ---\n${p.config}`;
    process.off('exit', onExit);
    killGroup();
    await Promise.race([exit, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    throw new Error(message);
  }
}

export interface SessionOptions {
  /** After LOGIN: 'SELECT' (default, read-write, as a client would), 'EXAMINE' (read-only: no \Seen side effects), or null (no mailbox). */
  select?: 'SELECT' | 'EXAMINE' | null;
  mailbox?: string;
  client?: ImapClientOptions;
}

/** A logged-in IMAP client on the Dovecot, with the mailbox selected as asked. Call logout() when done. */
export async function openImap(dovecot: Dovecot, options: SessionOptions = {}): Promise<ImapClient> {
  const client = await ImapClient.connect(dovecot.imapPort, options.client);
  try {
    const login = await client.command(`LOGIN ${imapQuote(dovecot.user)} ${imapQuote(dovecot.password)}`);
    if (!/^\S+ OK/.test(login.tagged)) throw new Error(`LOGIN failed: ${login.tagged}`);
    const select = options.select === undefined ? 'SELECT' : options.select;
    if (select) {
      const reply = await client.command(`${select} ${imapQuote(options.mailbox ?? 'INBOX')}`);
      if (!/^\S+ OK/.test(reply.tagged)) throw new Error(`${select} failed: ${reply.tagged}`);
    }
    return client;
  } catch (error) {
    client.close();
    throw error;
  }
}

/**
 * Runs `commands` (untagged; tags A3, A4, ... are added, after A1 LOGIN and A2
 * SELECT) in one session and returns one reply per command.
 */
export async function imapExchange(dovecot: Dovecot, commands: readonly (string | Buffer)[], options: SessionOptions = {}): Promise<ImapReply[]> {
  const client = await openImap(dovecot, options);
  try {
    const replies: ImapReply[] = [];
    for (const command of commands) replies.push(await client.command(command));
    return replies;
  } finally {
    await client.logout();
  }
}

/**
 * Like imapExchange, but returns the responses to `commands` as the exact
 * text that came off the wire (latin1, CRLF line ends, literals verbatim,
 * tagged lines included; the greeting, LOGIN and SELECT responses left out).
 */
export async function imapRaw(dovecot: Dovecot, commands: readonly (string | Buffer)[], options: SessionOptions = {}): Promise<string> {
  return wireText(await imapExchange(dovecot, commands, options));
}

/**
 * `FETCH 1:* (<items>)` in a read-only (EXAMINE) session; element i is the
 * whole `* <i+1> FETCH (...)` response for message i+1, literals included,
 * without the final CRLF. `items` may be given with or without parentheses.
 */
export async function fetchEach(dovecot: Dovecot, items: string, options: Omit<SessionOptions, 'select'> = {}): Promise<string[]> {
  const list = items.trim().startsWith('(') ? items.trim() : `(${items.trim()})`;
  if (dovecot.count === 0) return [];
  const [reply] = await imapExchange(dovecot, [`FETCH 1:* ${list}`], { ...options, select: 'EXAMINE' });
  if (!reply || !/^\S+ OK/.test(reply.tagged)) throw new Error(`FETCH failed: ${reply?.tagged}\n${reply?.untagged.join('\n')}`);
  const out: string[] = [];
  for (const response of reply.untagged) {
    const match = /^\* (\d+) FETCH /.exec(response);
    if (!match) continue;
    const seq = Number(match[1]);
    if (out[seq - 1] !== undefined) throw new Error(`two FETCH responses for message ${seq}:\n${out[seq - 1]}\n${response}`);
    out[seq - 1] = response;
  }
  for (let i = 0; i < Math.max(out.length, dovecot.count); i++) {
    if (out[i] === undefined || i >= dovecot.count) throw new Error(`expected ${dovecot.count} FETCH responses, got:\n${reply.untagged.join('\n')}`);
  }
  return out;
}

/**
 * Logs in over POP3 (USER/PASS) and runs `commands`, returning each response
 * verbatim (multi-line ones whole, ending in "\r\n."). No QUIT is sent unless
 * it is among the commands, so DELE and \Seen changes are not committed.
 */
export async function pop3Exchange(dovecot: Dovecot, commands: readonly string[]): Promise<string[]> {
  const client = await Pop3Client.connect(dovecot.pop3Port);
  try {
    for (const login of [`USER ${dovecot.user}`, `PASS ${dovecot.password}`]) {
      const reply = await client.command(login);
      if (!reply.startsWith('+OK')) throw new Error(`POP3 ${login.split(' ')[0]} failed: ${reply}`);
    }
    const replies: string[] = [];
    for (const command of commands) replies.push(await client.command(command));
    return replies;
  } finally {
    client.close();
  }
}
