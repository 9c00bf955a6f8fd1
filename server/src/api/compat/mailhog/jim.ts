import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
// The one smtp/ module the API uses: pure rule state shared with the SMTP sink.
import type { RuleStage, SmtpRule, SmtpRuleSet } from '../../../smtp/reject-rules.js';
import { goField, goFloat64, goFloatJson, readGoJson } from '../go-json-tree.js';

export interface JimDeps {
  rules: SmtpRuleSet;
}

/** MailHog's monkey.Jim, its fields in MailHog's order (the order its JSON has them in). */
const JIM_FIELDS = [
  'DisconnectChance',
  'AcceptChance',
  'LinkSpeedAffect',
  'LinkSpeedMin',
  'LinkSpeedMax',
  'RejectSenderChance',
  'RejectRecipientChance',
  'RejectAuthChance',
] as const;

type Jim = Record<(typeof JIM_FIELDS)[number], number>;

/** MailHog's flag defaults (-jim-disconnect and the others). */
const DEFAULT_JIM: Jim = {
  DisconnectChance: 0.005,
  AcceptChance: 0.99,
  LinkSpeedAffect: 0.1,
  LinkSpeedMin: 1024,
  LinkSpeedMax: 10240,
  RejectSenderChance: 0.05,
  RejectRecipientChance: 0.05,
  RejectAuthChance: 0.05,
};

/** Where Jim's disconnect can strike: MailHog draws after every read; rules see these commands. */
const DISCONNECT_STAGES: readonly RuleStage[] = ['auth', 'mail', 'rcpt', 'data'];

/** A chance as a rule's probability: Jim compares a draw from [0, 1) with it, so past either end it is never or always. */
const chance = (p: number): number => Math.min(1, Math.max(0, Number(p.toPrecision(12))));

/**
 * Jim's behaviours as rules, with MailHog's replies (mailhog/smtp's ReplyError for a refused sender
 * or recipient, ReplyUnrecognisedCommand for a refused AUTH) but for the address MailHog appends to
 * "Invalid sender" and "Invalid recipient": a rule's text is fixed. A connection Jim does not accept
 * is closed before the greeting, as MailHog closes it. Rules that can never fire are left out.
 */
function rulesFor(jim: Jim): SmtpRule[] {
  const rules: SmtpRule[] = [
    { on: 'connect', match: '*', disconnect: true, probability: chance(1 - jim.AcceptChance) },
    { on: 'auth', match: '*', reply: { code: 500, text: 'Unrecognised command' }, probability: chance(jim.RejectAuthChance) },
    { on: 'mail', match: '*', reply: { code: 550, text: 'Invalid sender' }, probability: chance(jim.RejectSenderChance) },
    { on: 'rcpt', match: '*', reply: { code: 550, text: 'Invalid recipient' }, probability: chance(jim.RejectRecipientChance) },
    ...DISCONNECT_STAGES.map((on): SmtpRule => ({ on, match: '*', disconnect: true, probability: chance(jim.DisconnectChance) })),
  ];
  return rules.filter((rule) => rule.probability! > 0);
}

/**
 * A body decoded into a new monkey.Jim as MailHog's newJimFromBody does: fields left out are 0, and
 * null (the whole body or a field) leaves zeros; null when Go's decoder fails, whatever the error.
 */
function decodeJim(body: Buffer): Jim | null {
  const read = readGoJson(body, 'monkey.Jim', 1);
  if (!read.ok) return null;
  const jim = Object.fromEntries(JIM_FIELDS.map((field) => [field, 0])) as Jim;
  if (read.value.kind !== 'object') return jim;
  let failed = false;
  for (const [key, item] of read.value.entries) {
    const field = goField(key, JIM_FIELDS);
    if (field === undefined || item.kind === 'null') continue;
    const n = goFloat64(item);
    if (n === null) failed = true;
    else jim[field] = n;
  }
  return failed ? null : jim;
}

/** json.Marshal of a Jim: its fields in order, floats as Go writes them, no trailing newline. */
const jimJson = (jim: Jim): string => `{${JIM_FIELDS.map((field) => `"${field}":${goFloatJson(jim[field])}`).join(',')}}`;

const NOT_EXPRESSED =
  'LinkSpeedAffect, LinkSpeedMin and LinkSpeedMax are kept and listed but change nothing: Mailroom does not throttle connections. ' +
  'MailHog appends the address to "Invalid sender" and "Invalid recipient"; Mailroom does not, and adds an enhanced status code to every reply.';

const MAPPING =
  'While Jim is on, his chances are SMTP rules in GET /api/smtp/rules (origin mailhog-jim): 1 − AcceptChance closes a new connection before the greeting; ' +
  'RejectAuthChance answers AUTH `500 Unrecognised command` (once the credentials are in); RejectSenderChance answers MAIL FROM `550 Invalid sender`; ' +
  'RejectRecipientChance answers RCPT TO `550 Invalid recipient`; DisconnectChance closes the connection instead of answering AUTH, MAIL FROM, RCPT TO or the end of DATA. ' +
  NOT_EXPRESSED;

/**
 * MailHog's Jim, the chaos monkey (MailHog-Server api/v2.go, monkey/jim.go), off at start as in a
 * MailHog started without -invite-jim. His settings live here, LinkSpeed ones included; while he is
 * on, the ones the rule grammar can express are rules of origin mailhog-jim in the SMTP sink's set.
 */
export const jimRoutes: FastifyPluginAsync<JimDeps> = async (app, { rules }) => {
  /** Jim while he is on, else null (MailHog's config.Monkey). */
  let current: Jim | null = null;
  /** The last settings given, which a POST without a readable body brings back (MailHog's config.Jim). */
  let configured: Jim = { ...DEFAULT_JIM };

  const apply = (jim: Jim | null, log: FastifyBaseLogger): void => {
    current = jim;
    rules.replace(jim ? rulesFor(jim) : [], 'mailhog-jim');
    log.info({ jim }, jim ? 'MailHog Jim on' : 'MailHog Jim off');
  };
  const bodyOf = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.alloc(0));
  const docs = (summary: string, description: string) => ({ exposeHeadRoute: false, schema: { tags: ['mailhog'], summary, description } });

  app.get(
    '/api/v2/jim',
    docs('MailHog: Jim, the chaos monkey', `404 with an empty body while Jim is off; else his settings, \`application/json\`, in MailHog's order. ${MAPPING}`),
    async (_request, reply) => {
      if (current === null) return reply.code(404).send();
      return reply.type('application/json').send(Buffer.from(jimJson(current)));
    },
  );

  app.post(
    '/api/v2/jim',
    docs(
      'MailHog: switch Jim on',
      '201 with an empty body; 400 when he is on already. A body that decodes replaces his settings, fields left out being 0 (so an AcceptChance of 0 closes every connection, as in MailHog); ' +
        `without one (or with one that does not decode) he comes back with the last settings given, MailHog's defaults at first. ${MAPPING}`,
    ),
    async (request, reply) => {
      if (current !== null) return reply.code(400).send();
      const decoded = decodeJim(bodyOf(request.body));
      if (decoded) configured = decoded;
      apply(configured, request.log);
      return reply.code(201).send();
    },
  );

  app.put(
    '/api/v2/jim',
    docs(
      "MailHog: change Jim's settings",
      `200 with an empty body; 404 while Jim is off; 400 for a body that does not decode as Go decodes it into monkey.Jim. Fields left out are 0, as in MailHog. ${NOT_EXPRESSED}`,
    ),
    async (request, reply) => {
      if (current === null) return reply.code(404).send();
      const decoded = decodeJim(bodyOf(request.body));
      if (!decoded) return reply.code(400).send();
      configured = decoded;
      apply(decoded, request.log);
      return reply.send();
    },
  );

  app.delete('/api/v2/jim', docs('MailHog: switch Jim off', '200 with an empty body, his rules gone; 404 while he is off'), async (request, reply) => {
    if (current === null) return reply.code(404).send();
    apply(null, request.log);
    return reply.send();
  });
};
