import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ImapClient, imapQuote, type ImapReply } from '../../test/helpers/dovecot/imap-client.js';
import { machineBusyMs } from './cpu-time.js';
import { treeCpuMs } from './process-tree.js';

/*
 * One IMAP connection to a server under test, through the reference
 * harness's ImapClient (test/helpers/dovecot/imap-client.ts) so that both
 * servers are read by the same client code: whatever it costs to frame the
 * responses is the same on both sides of a ratio.
 */

export interface TimedReply {
  reply: ImapReply;
  /** From writing the command to its tagged completion, client framing included. */
  ms: number;
  /** The server's CPU time (user + system) over the same span. */
  serverCpuMs: number;
  /** This process's CPU time over it: the client's share of the work. */
  clientCpuMs: number;
  /** CPU time everything else on the machine took meanwhile: noise in `ms` when it is large. */
  othersCpuMs: number;
}

export class ImapBenchSession {
  private constructor(
    private readonly client: ImapClient,
    private readonly serverCpuMs: () => Promise<number> | number,
  ) {}

  /** Connects, logs in and EXAMINEs INBOX (read-only, so no run changes a flag the next one sees). */
  static async open(port: number, user: string, password: string, serverCpuMs: () => Promise<number> | number, timeoutMs: number): Promise<ImapBenchSession> {
    const client = await ImapClient.connect(port, { timeoutMs });
    client.socket.setNoDelay(true);
    const session = new ImapBenchSession(client, serverCpuMs);
    try {
      await session.expectOk(`LOGIN ${imapQuote(user)} ${imapQuote(password)}`);
      await session.expectOk('EXAMINE INBOX');
    } catch (error) {
      client.close();
      throw error;
    }
    return session;
  }

  async run(command: string): Promise<TimedReply> {
    const serverBefore = await this.serverCpuMs();
    const machineBefore = machineBusyMs();
    const clientBefore = process.cpuUsage();
    const start = performance.now();
    const reply = await this.expectOk(command);
    const ms = performance.now() - start;
    const client = process.cpuUsage(clientBefore);
    const machine = machineBusyMs() - machineBefore;
    const serverCpuMs = (await this.serverCpuMs()) - serverBefore;
    const clientCpuMs = (client.user + client.system) / 1000;
    return { reply, ms, serverCpuMs, clientCpuMs, othersCpuMs: Math.max(0, machine - serverCpuMs - clientCpuMs) };
  }

  logout(): Promise<void> {
    return this.client.logout();
  }

  private async expectOk(command: string): Promise<ImapReply> {
    const reply = await this.client.command(command);
    if (!/^\S+ OK/.test(reply.tagged)) {
      throw new Error(`IMAP ${command}: ${reply.tagged}${reply.untagged.length > 0 ? ` after ${reply.untagged.slice(0, 3).join(' | ')}` : ''}`);
    }
    return reply;
  }
}

/**
 * CPU time of Dovecot's master and every process under it (imap, imap-login,
 * auth, ...), in milliseconds to the kernel's tick. The master is found by its
 * command line, which names the instance's own dovecot.conf.
 */
export function dovecotCpuMs(configPath: string): () => number {
  const pid = readdirSync('/proc').find((name) => {
    if (!/^\d+$/.test(name)) return false;
    try {
      return readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').includes(configPath);
    } catch {
      // Gone between listing and reading.
      return false;
    }
  });
  if (pid === undefined) throw new Error(`no process runs with ${configPath}`);
  return () => treeCpuMs(Number(pid));
}

/** What a command returned, reduced to what both servers must agree on. */
export interface Outcome {
  /** Compared between the servers; equal means the same result. */
  key: string;
  /** For the report, e.g. "10,000 FETCH responses". */
  summary: string;
  /** FETCH responses, messages found or messages sorted. */
  count: number;
}

const FETCH_LINE = /^\* (\d+) FETCH \(/;

/** Sequence number by UID, from FETCH responses that carry UID. */
export function uidMap(reply: ImapReply): Map<number, number> {
  const map = new Map<number, number>();
  for (const response of reply.untagged) {
    const seq = FETCH_LINE.exec(response)?.[1];
    const uid = /[( ]UID (\d+)/.exec(response)?.[1];
    if (seq !== undefined && uid !== undefined) map.set(Number(uid), Number(seq));
  }
  return map;
}

/** FETCH 1:* of the metadata items: one response per message, each holding every item asked for. */
export function metadataOutcome(reply: ImapReply): Outcome {
  let responses = 0;
  let complete = 0;
  for (const response of reply.untagged) {
    if (!FETCH_LINE.test(response)) continue;
    responses++;
    if (/[( ]UID \d/.test(response) && response.includes('FLAGS (') && response.includes('ENVELOPE (') && response.includes('BODYSTRUCTURE (')) complete++;
  }
  const summary = `${responses.toLocaleString('en-US')} FETCH responses${complete === responses ? '' : `, ${responses - complete} lacking an item`}`;
  return { key: `${responses}/${complete}`, summary, count: responses };
}

/** FETCH 1:* BODY.PEEK[]: the responses and the octets of their BODY[] literals. */
export function bodyOutcome(reply: ImapReply): Outcome & { octets: number } {
  let responses = 0;
  let octets = 0;
  for (const response of reply.untagged) {
    if (!FETCH_LINE.test(response)) continue;
    responses++;
    const literal = /BODY\[\] \{(\d+)\}\r\n/.exec(response);
    if (literal) octets += Number(literal[1]);
  }
  return { key: `${responses}/${octets}`, summary: `${responses.toLocaleString('en-US')} FETCH responses, ${octets.toLocaleString('en-US')} octets`, count: responses, octets };
}

/** The numbers of a `* SEARCH` or `* SORT` response (one per command; none when nothing matched). */
function numbers(reply: ImapReply, name: 'SEARCH' | 'SORT'): number[] {
  const lines = reply.untagged.filter((line) => line === `* ${name}` || line.startsWith(`* ${name} `));
  if (lines.length !== 1) throw new Error(`expected one * ${name} response, got ${lines.length}: ${reply.untagged.slice(0, 3).join(' | ')}`);
  return lines[0]!.slice(name.length + 2).split(' ').filter(Boolean).map(Number);
}

/** UID SEARCH: the UIDs found, as sequence numbers so that servers with different UIDs compare. */
export function searchOutcome(reply: ImapReply, seqByUid: ReadonlyMap<number, number>, total: number): Outcome {
  // A UID that FETCH never showed stays visible as its negative, so it cannot pass for a match.
  const seqs = numbers(reply, 'SEARCH').map((uid) => seqByUid.get(uid) ?? -uid);
  return {
    key: seqs.sort((a, b) => a - b).join(' '),
    summary: `${seqs.length.toLocaleString('en-US')} messages (${((seqs.length / total) * 100).toFixed(1)}%)`,
    count: seqs.length,
  };
}

/** SORT: the order, in sequence numbers. */
export function sortOutcome(reply: ImapReply): Outcome {
  const seqs = numbers(reply, 'SORT');
  return { key: seqs.join(' '), summary: `${seqs.length.toLocaleString('en-US')} sequence numbers, first ${seqs.slice(0, 3).join(' ')}`, count: seqs.length };
}

/** Where two space-separated results first differ, for a mismatch report. */
export function firstDifference(a: string, b: string): string {
  const left = a.split(' ');
  const right = b.split(' ');
  const at = left.findIndex((value, i) => value !== right[i]);
  const index = at < 0 ? left.length : at;
  return `${left.length} vs ${right.length} items; first difference at item ${index + 1}: ${left[index] ?? '(none)'} vs ${right[index] ?? '(none)'}`;
}
