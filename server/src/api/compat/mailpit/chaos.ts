import type { FastifyPluginAsync } from 'fastify';
// The one smtp/ module the API uses: pure rule state shared with the SMTP sink.
import type { RuleStage, SmtpRule, SmtpRuleSet } from '../../../smtp/reject-rules.js';
import { goField, goInt, goTypeError, readGoJson } from '../go-json-tree.js';
import { sendError, sendJson } from './replies.js';
import { BODY_TOO_LARGE, bodyOf } from './request-body.js';

export interface ChaosDeps {
  rules: SmtpRuleSet;
}

type TriggerName = 'Sender' | 'Recipient' | 'Authentication';

interface Trigger {
  ErrorCode: number;
  /** Percent, 0 to 100. */
  Probability: number;
}

type Triggers = Record<TriggerName, Trigger>;

/**
 * Mailpit's triggers (internal/smtpd/chaos), in its order, as rules: where its smtpd checks each,
 * the code it answers by default and the text it answers with.
 */
const TRIGGERS: readonly { name: TriggerName; on: RuleStage; code: number; text: string }[] = [
  { name: 'Sender', on: 'mail', code: 451, text: 'Chaos sender error' },
  { name: 'Recipient', on: 'rcpt', code: 451, text: 'Chaos recipient error' },
  { name: 'Authentication', on: 'auth', code: 535, text: 'Chaos authentication error' },
];
const TRIGGER_NAMES = TRIGGERS.map((t) => t.name);
const TRIGGER_FIELDS = ['ErrorCode', 'Probability'] as const;

/**
 * The triggers as the rules of origin mailpit-chaos hold them, which are their one record: a trigger
 * without a rule is at its default code with probability 0.
 */
function triggersOf(rules: SmtpRuleSet): Triggers {
  const made = rules.rulesOf('mailpit-chaos');
  const entries = TRIGGERS.map(({ name, on, code }): [TriggerName, Trigger] => {
    const rule = made.find((r) => r.on === on);
    return [name, rule ? { ErrorCode: rule.reply!.code, Probability: Math.round((rule.probability ?? 1) * 100) } : { ErrorCode: code, Probability: 0 }];
  });
  return Object.fromEntries(entries) as Triggers;
}

/** A rule for each trigger that is not at its default: one at probability 0 keeps its code and never fires. */
function rulesFor(triggers: Triggers): SmtpRule[] {
  return TRIGGERS.filter(({ name, code }) => triggers[name].Probability > 0 || triggers[name].ErrorCode !== code).map(({ name, on, text }) => ({
    on,
    match: '*',
    reply: { code: triggers[name].ErrorCode, text },
    probability: triggers[name].Probability / 100,
  }));
}

/** A PUT body decoded into chaos.Triggers as Go decodes it: fields left out are zero. */
function decodeTriggers(body: Buffer): { ok: true; triggers: Triggers } | { ok: false; error: string } {
  const read = readGoJson(body, 'chaos.Triggers', 2);
  if (!read.ok) return read;
  const triggers = Object.fromEntries(TRIGGER_NAMES.map((name) => [name, { ErrorCode: 0, Probability: 0 }])) as Triggers;
  if (read.value.kind !== 'object') return { ok: true, triggers };
  // Go keeps decoding past a mismatch and reports the first.
  let error: string | null = null;
  for (const [key, item] of read.value.entries) {
    const name = goField(key, TRIGGER_NAMES);
    if (name === undefined || item.kind === 'null') continue;
    if (item.kind !== 'object') {
      error ??= goTypeError(item, 'Triggers', name, 'chaos.Trigger', false);
      continue;
    }
    for (const [fieldKey, value] of item.entries) {
      const field = goField(fieldKey, TRIGGER_FIELDS);
      if (field === undefined || value.kind === 'null') continue;
      const n = goInt(value);
      if (n === null) error ??= goTypeError(value, 'Trigger', `${name}.${field}`, 'int', true);
      else triggers[name][field] = n;
    }
  }
  return error === null ? { ok: true, triggers } : { ok: false, error };
}

/**
 * Mailpit's SetFromStruct checks: a code of 0 means the default, then each trigger in turn. Mailpit
 * keeps the triggers set before one that fails; here a PUT changes all of them or none.
 */
function validate(triggers: Triggers): string | null {
  for (const { name, code } of TRIGGERS) {
    const trigger = triggers[name];
    if (trigger.ErrorCode === 0) trigger.ErrorCode = code;
    if (trigger.ErrorCode < 400 || trigger.ErrorCode > 599) return 'error code must be between 400 and 599';
    if (trigger.Probability < 0 || trigger.Probability > 100) return 'probability must be between 0 and 100';
  }
  return null;
}

const SHAPE =
  '`{"Sender":{"ErrorCode":451,"Probability":0},"Recipient":{"ErrorCode":451,"Probability":0},"Authentication":{"ErrorCode":535,"Probability":0}}`, ' +
  'Probability in percent. Each trigger is a rule in GET /api/smtp/rules (origin mailpit-chaos) answering `CODE Chaos sender error` at MAIL FROM, ' +
  '`CODE Chaos recipient error` at RCPT TO and `CODE Chaos authentication error` at AUTH (once the client has sent its credentials), ' +
  'with the enhanced status code Mailroom adds for the code; chaos is always enabled.';

/**
 * Mailpit's chaos triggers (server/apiv1/chaos.go, internal/smtpd/chaos), always enabled, as rules
 * of origin mailpit-chaos in the SMTP sink's rule set, which are their only state: the sink applies
 * them as it applies every rule, and PUT replaces them and nothing else.
 */
export const chaosRoutes: FastifyPluginAsync<ChaosDeps> = async (app, { rules }) => {
  app.get('/api/v1/chaos', { schema: { tags: ['mailpit'], summary: 'Chaos triggers (Mailpit)', description: SHAPE } }, async (_request, reply) => sendJson(reply, triggersOf(rules)));

  app.put(
    '/api/v1/chaos',
    {
      schema: {
        tags: ['mailpit'],
        summary: 'Set chaos triggers (Mailpit)',
        description:
          `Body and answer ${SHAPE} A trigger left out is reset to its default code with probability 0; an ErrorCode of 0 means the default. ` +
          '400 with Mailpit\'s text for a bad body (`error code must be between 400 and 599`, `probability must be between 0 and 100`, Go\'s JSON errors), and then nothing changes. ' +
          "The user's SMTP rules are kept.",
      },
    },
    async (request, reply) => {
      const body = bodyOf(request.body);
      if (body.tooLarge) return sendError(reply, BODY_TOO_LARGE);
      const decoded = decodeTriggers(body.bytes);
      if (!decoded.ok) return sendError(reply, decoded.error);
      const invalid = validate(decoded.triggers);
      if (invalid !== null) return sendError(reply, invalid);
      rules.replace(rulesFor(decoded.triggers), 'mailpit-chaos');
      request.log.info({ triggers: decoded.triggers }, 'Mailpit chaos triggers set');
      return sendJson(reply, triggersOf(rules));
    },
  );
};
