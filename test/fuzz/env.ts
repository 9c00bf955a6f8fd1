import type { Rng } from './random.js';

/** What the fuzzer knows about the Mailroom under test. */
export interface Target {
  ports: { smtp: number; http: number; pop3: number; imap: number; pop2: number };
  pid: number;
  /** os.hostname() of the machine, which POP2 puts in its greeting. */
  hostname: string;
}

/**
 * Who may delete what. The seed messages are addressed to KEEP and nothing
 * the fuzzer sends may delete them; deleting commands (POP3 DELE, POP2 ACKD,
 * IMAP \Deleted, EXPUNGE, MOVE, RENAME INBOX, HTTP DELETE) are only sent in
 * sessions of SCRATCH, whose maildrop holds only mail addressed to it.
 */
export const KEEP = 'keep@fuzz.test';
export const SCRATCH = 'scratch@fuzz.test';
/** Users whose sessions never delete: one sees everything, the others their own mail. */
export const READERS = ['fuzzer', KEEP, 'nobody@fuzz.test', 'Fuzzer', 'u'];

export interface CaseEnv {
  target: Target;
  protocol: string;
  /** Number of the case within its protocol. */
  index: number;
  rng: Rng;
  /** Records a violation; the text should say what was sent and what came back. */
  problem(text: string): void;
  /** Counts something for the final tallies (deleting commands, stored messages). */
  tally(name: string, n?: number): void;
  /** Names the kind of the case, for the tallies of cases and time by kind. */
  kind(name: string): void;
  /** How long a reply may take before it counts as a hang. */
  replyMs: number;
}
