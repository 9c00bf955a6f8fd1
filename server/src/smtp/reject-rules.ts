/**
 * SMTP reject rules: refuse a connection, an AUTH, a MAIL FROM, a RCPT TO or a message at the end
 * of DATA with an error, hang up instead of replying, or reply late, so that an application's
 * handling of SMTP failures and timeouts can be tested.
 *
 * This module is pure (no smtp-server types, no I/O, no timers) and holds the one piece of state
 * that the SMTP sink and the HTTP API share besides the store: the sink asks a SmtpRuleSet what to
 * answer, `GET/PUT /api/smtp/rules` and the Mailpit and MailHog chaos APIs read and replace its
 * rules. It is the only module under smtp/ that the HTTP layer imports; it stays here, beside the
 * sink that applies it, because the grammar and the stages describe SMTP behaviour, and it depends
 * on nothing but ../size.ts and ../match/wildcard.ts.
 *
 * Text form, used by --smtp-reject and MAILROOM_SMTP_REJECT:
 *
 *   [N%:][delay:]STAGE:MATCH=ACTION
 *
 *   STAGE   connect (a new connection, before the greeting), auth (AUTH, once the client has sent
 *           its credentials), mail (MAIL FROM), rcpt (each RCPT TO), data (end of DATA, matched
 *           against every accepted recipient) or size (end of DATA, matched against the message
 *           size)
 *   MATCH   a glob, case-insensitive, `*` any run of characters and `?` one: of the address for
 *           mail, rcpt and data (`<>` is the null sender), of the client's IP address for connect,
 *           of the user name for auth; for size a threshold: `>SIZE`, `>=SIZE`, or `SIZE` meaning
 *           `>SIZE`
 *   ACTION  `CODE TEXT`, a 4xx or 5xx reply, or `disconnect`: close the connection without a
 *           reply; after `delay:` it is `MS [CODE TEXT | disconnect]`: act after MS milliseconds,
 *           answering normally when no action follows
 *   N%      the rule applies to N percent of the commands it matches
 *
 * The rules are tried in order and the first that matches (and whose chance comes up) decides.
 *
 * Origins. Besides the user's rules (--smtp-reject, `PUT /api/smtp/rules`), the set holds rules
 * that the emulations of Mailpit's chaos triggers and MailHog's Jim make from their settings, each
 * marked with its `origin`. Every owner replaces its own group only (`replace(rules, origin)`), so
 * setting chaos triggers keeps the user's rules and `PUT /api/smtp/rules` keeps the chaos ones,
 * refusing a rule that claims another owner's origin. The sink sees one list, the origins' groups
 * first (Mailpit checks its triggers before anything else), in the order `rules` lists them. The
 * origin is not part of the text form: rules given as text are always the user's.
 */
import { compileWildcard } from '../match/wildcard.js';
import { sizeInBytes } from '../size.js';

export const RULE_STAGES = ['connect', 'auth', 'mail', 'rcpt', 'data', 'size'] as const;
export type RuleStage = (typeof RULE_STAGES)[number];

/** Who made a rule other than the user: the Mailpit chaos and MailHog Jim emulations. */
export const RULE_ORIGINS = ['mailpit-chaos', 'mailhog-jim'] as const;
export type RuleOrigin = (typeof RULE_ORIGINS)[number];

/** Where a rule of each origin is changed, for the error that refuses it elsewhere. */
const ORIGIN_OWNERS: Record<RuleOrigin, string> = {
  'mailpit-chaos': "Mailpit's chaos triggers (PUT /api/v1/chaos)",
  'mailhog-jim': "MailHog's Jim (/api/v2/jim)",
};

export interface SmtpReply {
  /** 400 to 599; smtp-server adds the RFC 3463 enhanced status code for it (550 gets 5.1.1). */
  code: number;
  text: string;
}

export interface SmtpRule {
  on: RuleStage;
  /** Address, IP address or user name glob, `<>` for the null sender, or for `size` a threshold such as `>1MB`. */
  match: string;
  /** The error to answer with; without it (and without `disconnect`) the command is answered normally, after `delay`. */
  reply?: SmtpReply;
  /** Close the connection instead of replying. Present only when true. */
  disconnect?: boolean;
  /** Milliseconds to wait before acting. */
  delay?: number;
  /** 0 to 1: the share of matching commands the rule applies to; always when absent. */
  probability?: number;
  /** Set on rules a chaos API made; absent on the user's own. */
  origin?: RuleOrigin;
}

export const RULE_LIMITS = {
  /** Reply text and match pattern length, in characters. */
  textLength: 512,
  /** smtp-server drops a connection silent for 60 s, so a longer wait would never be answered. */
  delayMs: 60_000,
  /** Rules in one group: the user's, or one origin's. */
  rules: 1000,
} as const;

/** A rule that cannot be used; the message says what to fix. */
export class RuleError extends Error {
  constructor(
    message: string,
    /** Which rule of a list given to SmtpRuleSet.replace, from 0. */
    readonly index?: number,
  ) {
    super(message);
  }
}

/** What the sink asks about: a new client, credentials, a MAIL FROM or RCPT TO address, or a whole message at end of DATA. */
export type RuleEvent =
  | { on: 'connect'; /** The client's IP address. */ address: string }
  | { on: 'auth'; user: string }
  | { on: 'mail' | 'rcpt'; address: string }
  | { on: 'data'; size: number; recipients: readonly string[] };

export interface RuleDecision {
  rule: SmtpRule;
  /** The error to answer with, or null to answer normally (or to disconnect). */
  reply: SmtpReply | null;
  /** Close the connection without a reply. */
  disconnect: boolean;
  /** Milliseconds to wait first. */
  delay: number;
}

interface CompiledRule {
  rule: SmtpRule;
  applies(event: RuleEvent): boolean;
}

function checkGlob(glob: string, on: RuleStage): void {
  if (glob === '<>') {
    if (on === 'connect' || on === 'auth') throw new RuleError(`<> is the null sender, which ${on} rules never see: use * for any ${on === 'auth' ? 'user name' : 'client'}`);
    return;
  }
  if (glob === '') throw new RuleError('the address pattern is empty: use * for any address or <> for the null sender');
  if (/[\s\p{Cc}]/u.test(glob)) throw new RuleError(`the address pattern "${glob}" contains a space or control character`);
  if (/[<>]/.test(glob)) throw new RuleError(`the address pattern "${glob}" contains < or >: write the address without brackets (<> alone is the null sender)`);
}

/** `>SIZE`, `>=SIZE` or `SIZE` (meaning `>SIZE`) as a test of a byte count. */
function sizeTest(match: string): (size: number) => boolean {
  const parts = /^(>=?)?\s*(.*)$/s.exec(match.trim())!;
  const bytes = sizeInBytes(parts[2]!);
  if (bytes === undefined || !Number.isSafeInteger(bytes)) {
    throw new RuleError(`expected a size threshold such as >1MB, >=512KiB or 1048576, got "${match}"`);
  }
  return parts[1] === '>=' ? (size) => size >= bytes : (size) => size > bytes;
}

/** The text a glob rule of the event's stage is matched against. */
const subjectOf = (event: Exclude<RuleEvent, { on: 'data' }>): string => (event.on === 'auth' ? event.user : event.address);

function compile(rule: SmtpRule): CompiledRule {
  if (rule.on === 'size') {
    const test = sizeTest(rule.match);
    return { rule, applies: (event) => event.on === 'data' && test(event.size) };
  }
  checkGlob(rule.match, rule.on);
  const pattern = rule.match === '<>' ? null : compileWildcard(rule.match, { question: true, ignoreCase: true });
  const matches = (text: string): boolean => (pattern ? pattern.matches(text) : text === '');
  if (rule.on === 'data') return { rule, applies: (event) => event.on === 'data' && event.recipients.some(matches) };
  return { rule, applies: (event) => event.on === rule.on && event.on !== 'data' && matches(subjectOf(event)) };
}

function checkReply(reply: SmtpReply): SmtpReply {
  const { code, text } = reply;
  if (!Number.isInteger(code) || code < 400 || code > 599) {
    throw new RuleError(`the reply code must be from 400 to 599, got ${code}`);
  }
  if (typeof text !== 'string' || text.length === 0) throw new RuleError('the reply text is empty');
  if (text.length > RULE_LIMITS.textLength) throw new RuleError(`the reply text is longer than ${RULE_LIMITS.textLength} characters`);
  // RFC 5321 §4.2: a reply's text is printable US-ASCII; CR or LF would end the reply early.
  if (!/^[\x20-\x7e]*$/.test(text)) throw new RuleError('the reply text may hold only printable ASCII: no CR, LF or other control characters');
  if (/^[245]\.\d{1,3}\.\d{1,3}(?:\s|$)/.test(text)) {
    throw new RuleError(`the reply text starts with an enhanced status code ("${text.split(' ')[0]}"): Mailroom adds the one for the reply code itself`);
  }
  return { code, text };
}

/** Checks a rule and returns a normalised copy; throws RuleError saying what is wrong. */
export function checkRule(input: SmtpRule): SmtpRule {
  if (!RULE_STAGES.includes(input.on)) throw new RuleError(`the stage must be one of ${RULE_STAGES.join(', ')}, got "${String(input.on)}"`);
  if (typeof input.match !== 'string') throw new RuleError('the match pattern is missing');
  if (input.match.length > RULE_LIMITS.textLength) throw new RuleError(`the match pattern is longer than ${RULE_LIMITS.textLength} characters`);
  const rule: SmtpRule = { on: input.on, match: input.match };
  if (input.reply !== undefined) rule.reply = checkReply(input.reply);
  if (input.disconnect !== undefined) {
    if (typeof input.disconnect !== 'boolean') throw new RuleError(`disconnect must be true or false, got ${String(input.disconnect)}`);
    if (input.disconnect) rule.disconnect = true;
  }
  if (rule.reply && rule.disconnect) throw new RuleError('the rule both replies and disconnects: give one of them');
  if (input.delay !== undefined) {
    if (!Number.isInteger(input.delay) || input.delay < 0 || input.delay > RULE_LIMITS.delayMs) {
      throw new RuleError(`the delay must be a whole number of milliseconds from 0 to ${RULE_LIMITS.delayMs}, got ${input.delay}`);
    }
    rule.delay = input.delay;
  }
  if (input.probability !== undefined) {
    if (typeof input.probability !== 'number' || !(input.probability >= 0 && input.probability <= 1)) {
      throw new RuleError(`the probability must be from 0 to 1, got ${input.probability}`);
    }
    rule.probability = input.probability;
  }
  if (input.origin !== undefined) {
    if (!RULE_ORIGINS.includes(input.origin)) throw new RuleError(`the origin must be one of ${RULE_ORIGINS.join(', ')}, got "${String(input.origin)}"`);
    rule.origin = input.origin;
  }
  if (rule.reply === undefined && rule.disconnect === undefined && rule.delay === undefined) {
    throw new RuleError('the rule has neither a reply nor a delay: give a reply, disconnect, a delay, or a delay and one of the others');
  }
  compile(rule);
  return rule;
}

const STAGE_PREFIX = /^(connect|auth|mail|rcpt|data|size):/i;
const MODIFIER_PREFIX = /^(?:(\d{1,3}(?:\.\d+)?)%|(delay)):/i;

/** A rule of each stage, for the error that shows the form. */
const EXAMPLES: Record<RuleStage, string> = {
  connect: '*=421 Too busy',
  auth: '*=535 Authentication failed',
  mail: '*@bounce.test=550 No such user here',
  rcpt: '*@bounce.test=550 No such user here',
  data: '*@spam-trap.test=554 Transaction failed',
  size: '>1MB=552 Message too big',
};

/** Reads one rule in the text form described at the top of this file. */
export function parseRule(text: string): SmtpRule {
  let rest = text.trim();
  let probability: number | undefined;
  let delayed = false;
  for (let modifier = MODIFIER_PREFIX.exec(rest); modifier; modifier = MODIFIER_PREFIX.exec(rest)) {
    if (modifier[1] !== undefined) {
      if (probability !== undefined) throw new RuleError('the chance N% is given twice');
      const percent = Number(modifier[1]);
      if (percent > 100) throw new RuleError(`the chance must be from 0% to 100%, got ${modifier[1]}%`);
      probability = percent / 100;
    } else {
      if (delayed) throw new RuleError('delay: is given twice');
      delayed = true;
    }
    rest = rest.slice(modifier[0].length);
  }
  const stage = STAGE_PREFIX.exec(rest);
  if (!stage) {
    throw new RuleError(`expected [N%:][delay:]STAGE:MATCH=ACTION with STAGE connect, auth, mail, rcpt, data or size, such as rcpt:*@bounce.test=550 No such user here`);
  }
  const on = stage[1]!.toLowerCase() as RuleStage;
  rest = rest.slice(stage[0].length);

  let rule: SmtpRule;
  if (delayed) {
    // The match ends at the first "=MS" that is followed by the end, " CODE TEXT" or " disconnect".
    const parts = /^(.*?)=(\d{1,9})(?:ms)?(?: (\d{3}) (.*)| (disconnect))?$/is.exec(rest);
    if (!parts) throw new RuleError(`expected ${on}:MATCH=MS, ${on}:MATCH=MS CODE TEXT or ${on}:MATCH=MS disconnect after delay:, such as delay:${on}:*=5000`);
    rule = { on, match: parts[1]!, delay: Number(parts[2]) };
    if (parts[3] !== undefined) rule.reply = { code: Number(parts[3]), text: parts[4]! };
    if (parts[5] !== undefined) rule.disconnect = true;
  } else {
    // The match ends at the first "=CODE " (a pattern holds no space, so "=" may appear in it).
    const parts = /^(.*?)=(\d{3}) (.*)$/s.exec(rest);
    const hangUp = parts ? null : /^(.*?)=disconnect$/is.exec(rest);
    if (parts) rule = { on, match: parts[1]!, reply: { code: Number(parts[2]), text: parts[3]! } };
    else if (hangUp) rule = { on, match: hangUp[1]!, disconnect: true };
    else throw new RuleError(`expected ${on}:MATCH=CODE TEXT or ${on}:MATCH=disconnect, such as ${on}:${EXAMPLES[on]}`);
  }
  if (probability !== undefined) rule.probability = probability;
  return checkRule(rule);
}

/** The text form of a rule; parseRule reads it back to an equal rule, but for its origin. */
export function formatRule(rule: SmtpRule): string {
  const chance = rule.probability === undefined ? '' : `${Number((rule.probability * 100).toFixed(10))}%:`;
  const action = rule.reply ? `${rule.reply.code} ${rule.reply.text}` : rule.disconnect ? 'disconnect' : '';
  if (rule.delay !== undefined) return `${chance}delay:${rule.on}:${rule.match}=${rule.delay}${action ? ` ${action}` : ''}`;
  return `${chance}${rule.on}:${rule.match}=${action}`;
}

/**
 * Several rules in one string: one per line, or separated by a `;` that starts the next rule
 * (`;` before a stage such as `mail:`, `delay:` or `N%:`) or ends the string, so a reply text may
 * still hold a `;`. Blank entries are skipped.
 */
export function splitRules(text: string): string[] {
  return text
    .split(/\r?\n|;(?=\s*(?:$|\d{1,3}(?:\.\d+)?%:|delay:|connect:|auth:|mail:|rcpt:|data:|size:))/i)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** A group of rules: the user's, or one origin's. */
type Group = RuleOrigin | 'user';
/** The order the sink tries the groups in. */
const GROUP_ORDER: readonly Group[] = [...RULE_ORIGINS, 'user'];

/** The rules the SMTP sink applies, replaced a group at a time (the user's by `PUT /api/smtp/rules`). */
export class SmtpRuleSet {
  private readonly groups = new Map<Group, readonly CompiledRule[]>();
  private compiled: readonly CompiledRule[] = [];

  /**
   * @param rules the user's rules at start
   * @param random returns a number in [0, 1) for rules with a probability; tests pass their own
   */
  constructor(
    rules: readonly SmtpRule[] = [],
    private readonly random: () => number = Math.random,
  ) {
    this.replace(rules);
  }

  /** Copies of every rule, in the order they are tried. */
  get rules(): SmtpRule[] {
    return this.compiled.map((c) => structuredClone(c.rule));
  }

  /** Copies of one group's rules: the user's, or those of an origin. */
  rulesOf(origin?: RuleOrigin): SmtpRule[] {
    return (this.groups.get(origin ?? 'user') ?? []).map((c) => structuredClone(c.rule));
  }

  /**
   * Checks every rule, then swaps in the group at once; on any error nothing changes. Without an
   * origin the user's rules are replaced, and a rule carrying an origin is refused; with one, that
   * origin's, each rule marked with it.
   */
  replace(rules: readonly SmtpRule[], origin?: RuleOrigin): void {
    if (rules.length > RULE_LIMITS.rules) throw new RuleError(`at most ${RULE_LIMITS.rules} rules, got ${rules.length}`);
    const compiled = rules.map((input, index) => {
      try {
        if (input.origin !== undefined && input.origin !== origin) {
          const owner = ORIGIN_OWNERS[input.origin] as string | undefined;
          throw new RuleError(
            owner === undefined
              ? `the origin must be one of ${RULE_ORIGINS.join(', ')}, got "${String(input.origin)}"`
              : `the rule with origin ${input.origin} belongs to ${owner} and changes there only: leave it out`,
          );
        }
        return compile(checkRule(origin === undefined ? input : { ...input, origin }));
      } catch (error) {
        throw error instanceof RuleError ? new RuleError(error.message, index) : error;
      }
    });
    this.groups.set(origin ?? 'user', compiled);
    this.compiled = GROUP_ORDER.flatMap((group) => this.groups.get(group) ?? []);
  }

  /** The first rule that applies to the event, or null to answer normally at once. */
  decide(event: RuleEvent): RuleDecision | null {
    for (const { rule, applies } of this.compiled) {
      if (!applies(event)) continue;
      const chance = rule.probability ?? 1;
      // No draw for 0 or 1, so those rules never consume a test's sequence of random numbers.
      if (chance < 1 && !(chance > 0 && this.random() < chance)) continue;
      return { rule, reply: rule.reply ? { ...rule.reply } : null, disconnect: rule.disconnect === true, delay: rule.delay ?? 0 };
    }
    return null;
  }
}
