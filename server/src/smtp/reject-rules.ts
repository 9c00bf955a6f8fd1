/**
 * SMTP reject rules: answer chosen MAIL FROM, RCPT TO or end-of-DATA replies with an error, or
 * late, so that an application's handling of SMTP failures and timeouts can be tested.
 *
 * This module is pure (no smtp-server types, no I/O, no timers) and holds the one piece of state
 * that the SMTP sink and the HTTP API share besides the store: the sink asks a SmtpRuleSet what to
 * answer, `GET/PUT /api/smtp/rules` reads and replaces its rules. It is the only module under
 * smtp/ that the HTTP layer imports; it stays here, beside the sink that applies it, because the
 * grammar and the stages describe SMTP behaviour, and it depends on nothing but ../size.ts and
 * ../match/wildcard.ts.
 *
 * Text form, used by --smtp-reject and MAILROOM_SMTP_REJECT:
 *
 *   [N%:][delay:]STAGE:MATCH=ACTION
 *
 *   STAGE   mail (MAIL FROM), rcpt (each RCPT TO), data (end of DATA, matched against every
 *           accepted recipient) or size (end of DATA, matched against the message size)
 *   MATCH   an address glob, case-insensitive, `*` any run of characters and `?` one; `<>` is the
 *           null sender; for size a threshold: `>SIZE`, `>=SIZE`, or `SIZE` meaning `>SIZE`
 *   ACTION  `CODE TEXT`, a 4xx or 5xx reply; after `delay:` it is `MS [CODE TEXT]`: answer after
 *           MS milliseconds, normally or with that reply
 *   N%      the rule applies to N percent of the commands it matches
 *
 * The rules are tried in order and the first that matches (and whose chance comes up) decides.
 */
import { compileWildcard } from '../match/wildcard.js';
import { sizeInBytes } from '../size.js';

export const RULE_STAGES = ['mail', 'rcpt', 'data', 'size'] as const;
export type RuleStage = (typeof RULE_STAGES)[number];

export interface SmtpReply {
  /** 400 to 599; smtp-server adds the RFC 3463 enhanced status code for it (550 gets 5.1.1). */
  code: number;
  text: string;
}

export interface SmtpRule {
  on: RuleStage;
  /** Address glob, `<>` for the null sender, or for `size` a threshold such as `>1MB`. */
  match: string;
  /** The error to answer with; without it the command is answered normally (after `delay`). */
  reply?: SmtpReply;
  /** Milliseconds to wait before the reply. */
  delay?: number;
  /** 0 to 1: the share of matching commands the rule applies to; always when absent. */
  probability?: number;
}

export const RULE_LIMITS = {
  /** Reply text and match pattern length, in characters. */
  textLength: 512,
  /** smtp-server drops a connection silent for 60 s, so a longer wait would never be answered. */
  delayMs: 60_000,
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

/** What the sink asks about: a MAIL FROM or RCPT TO address, or a whole message at end of DATA. */
export type RuleEvent =
  | { on: 'mail' | 'rcpt'; address: string }
  | { on: 'data'; size: number; recipients: readonly string[] };

export interface RuleDecision {
  rule: SmtpRule;
  /** The error to answer with, or null to answer normally. */
  reply: SmtpReply | null;
  /** Milliseconds to wait first. */
  delay: number;
}

interface CompiledRule {
  rule: SmtpRule;
  applies(event: RuleEvent): boolean;
}

function checkGlob(glob: string): void {
  if (glob === '<>') return;
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

function compile(rule: SmtpRule): CompiledRule {
  if (rule.on === 'size') {
    const test = sizeTest(rule.match);
    return { rule, applies: (event) => event.on === 'data' && test(event.size) };
  }
  checkGlob(rule.match);
  const pattern = rule.match === '<>' ? null : compileWildcard(rule.match, { question: true, ignoreCase: true });
  const matches = (address: string): boolean => (pattern ? pattern.matches(address) : address === '');
  if (rule.on === 'data') return { rule, applies: (event) => event.on === 'data' && event.recipients.some(matches) };
  return { rule, applies: (event) => event.on !== 'data' && event.on === rule.on && matches(event.address) };
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
  if (rule.reply === undefined && rule.delay === undefined) throw new RuleError('the rule has neither a reply nor a delay');
  compile(rule);
  return rule;
}

const STAGE_PREFIX = /^(mail|rcpt|data|size):/i;
const MODIFIER_PREFIX = /^(?:(\d{1,3}(?:\.\d+)?)%|(delay)):/i;

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
  if (!stage) throw new RuleError('expected [N%:][delay:]STAGE:MATCH=ACTION with STAGE mail, rcpt, data or size, such as rcpt:*@bounce.test=550 No such user here');
  const on = stage[1]!.toLowerCase() as RuleStage;
  rest = rest.slice(stage[0].length);

  let rule: SmtpRule;
  if (delayed) {
    // The match ends at the first "=MS" that is followed by the end or by " CODE TEXT".
    const parts = /^(.*?)=(\d{1,9})(?:ms)?(?: (\d{3}) (.*))?$/is.exec(rest);
    if (!parts) throw new RuleError(`expected ${on}:MATCH=MS or ${on}:MATCH=MS CODE TEXT after delay:, such as delay:${on}:*=5000`);
    rule = { on, match: parts[1]!, delay: Number(parts[2]) };
    if (parts[3] !== undefined) rule.reply = { code: Number(parts[3]), text: parts[4]! };
  } else {
    // The match ends at the first "=CODE " (a pattern holds no space, so "=" may appear in it).
    const parts = /^(.*?)=(\d{3}) (.*)$/s.exec(rest);
    if (!parts) throw new RuleError(`expected ${on}:MATCH=CODE TEXT, such as ${on}:${on === 'size' ? '>1MB=552 Message too big' : '*@bounce.test=550 No such user here'}`);
    rule = { on, match: parts[1]!, reply: { code: Number(parts[2]), text: parts[3]! } };
  }
  if (probability !== undefined) rule.probability = probability;
  return checkRule(rule);
}

/** The text form of a rule; parseRule reads it back to an equal rule. */
export function formatRule(rule: SmtpRule): string {
  const chance = rule.probability === undefined ? '' : `${Number((rule.probability * 100).toFixed(10))}%:`;
  const reply = rule.reply ? `${rule.reply.code} ${rule.reply.text}` : '';
  if (rule.delay !== undefined) return `${chance}delay:${rule.on}:${rule.match}=${rule.delay}${reply ? ` ${reply}` : ''}`;
  return `${chance}${rule.on}:${rule.match}=${reply}`;
}

/**
 * Several rules in one string: one per line, or separated by a `;` that starts the next rule
 * (`;` before `mail:`, `rcpt:`, `data:`, `size:`, `delay:` or `N%:`) or ends the string, so a
 * reply text may still hold a `;`. Blank entries are skipped.
 */
export function splitRules(text: string): string[] {
  return text
    .split(/\r?\n|;(?=\s*(?:$|\d{1,3}(?:\.\d+)?%:|delay:|mail:|rcpt:|data:|size:))/i)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The rules the SMTP sink applies, replaced as a whole (by `PUT /api/smtp/rules`). */
export class SmtpRuleSet {
  private compiled: readonly CompiledRule[] = [];

  /**
   * @param random returns a number in [0, 1) for rules with a probability; tests pass their own
   */
  constructor(
    rules: readonly SmtpRule[] = [],
    private readonly random: () => number = Math.random,
  ) {
    this.replace(rules);
  }

  /** Copies of the rules, in order. */
  get rules(): SmtpRule[] {
    return this.compiled.map((c) => structuredClone(c.rule));
  }

  /** Checks every rule, then swaps them all in at once; on any error nothing changes. */
  replace(rules: readonly SmtpRule[]): void {
    if (rules.length > RULE_LIMITS.rules) throw new RuleError(`at most ${RULE_LIMITS.rules} rules, got ${rules.length}`);
    this.compiled = rules.map((input, index) => {
      try {
        return compile(checkRule(input));
      } catch (error) {
        throw error instanceof RuleError ? new RuleError(error.message, index) : error;
      }
    });
  }

  /** The first rule that applies to the event, or null to answer normally at once. */
  decide(event: RuleEvent): RuleDecision | null {
    for (const { rule, applies } of this.compiled) {
      if (!applies(event)) continue;
      const chance = rule.probability ?? 1;
      // No draw for 0 or 1, so those rules never consume a test's sequence of random numbers.
      if (chance < 1 && !(chance > 0 && this.random() < chance)) continue;
      return { rule, reply: rule.reply ? { ...rule.reply } : null, delay: rule.delay ?? 0 };
    }
    return null;
  }
}
