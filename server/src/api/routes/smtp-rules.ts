import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
// The one smtp/ module the API uses: pure rule state shared with the SMTP sink, no smtp-server types.
import { RULE_LIMITS, RuleError, type SmtpRuleSet } from '../../smtp/reject-rules.js';
import { badRequest } from '../errors.js';
import { ErrorBody } from '../schemas.js';

export interface SmtpRuleRoutesDeps {
  rules: SmtpRuleSet;
}

export const SmtpRuleSchema = Type.Object(
  {
    on: Type.Union(
      [Type.Literal('connect'), Type.Literal('auth'), Type.Literal('mail'), Type.Literal('rcpt'), Type.Literal('data'), Type.Literal('size')],
      {
        description:
          'connect: a new connection, before the greeting; auth: AUTH, once the credentials are in; mail: MAIL FROM; rcpt: each RCPT TO; ' +
          'data: end of DATA, matched against every accepted recipient; size: end of DATA, matched against the message size',
      },
    ),
    match: Type.String({
      maxLength: RULE_LIMITS.textLength,
      description:
        'Glob, case-insensitive (* any characters, ? one): of the address (<> is the null sender), of the client IP address for connect, of the user name for auth; ' +
        'for size a threshold: >SIZE, >=SIZE or SIZE (meaning >SIZE), such as >1MB',
    }),
    reply: Type.Optional(
      Type.Object(
        {
          code: Type.Integer({ minimum: 400, maximum: 599, description: 'Reply code; the enhanced status code is added for it (550 gets 5.1.1)' }),
          text: Type.String({ minLength: 1, maxLength: RULE_LIMITS.textLength, description: 'Printable ASCII' }),
        },
        { additionalProperties: false },
      ),
    ),
    disconnect: Type.Optional(Type.Boolean({ description: 'true: close the connection instead of replying (listed only when true)' })),
    delay: Type.Optional(
      Type.Integer({ minimum: 0, maximum: RULE_LIMITS.delayMs, description: 'Milliseconds to wait before acting; without reply or disconnect the command is then answered normally' }),
    ),
    probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Share of matching commands the rule applies to; 1 when absent' })),
    origin: Type.Optional(
      Type.Union(
        [Type.Literal('mailpit-chaos'), Type.Literal('mailhog-jim')],
        { description: "Only on rules made by Mailpit's chaos triggers (PUT /api/v1/chaos) or MailHog's Jim (/api/v2/jim), which alone change them" },
      ),
    ),
  },
  { additionalProperties: false, description: 'A rule needs a reply, disconnect or a delay; a delay goes with either of the others' },
);

export const SmtpRulesSchema = Type.Object(
  { rules: Type.Array(SmtpRuleSchema, { maxItems: RULE_LIMITS.rules, description: 'Tried in order; the first that matches decides' }) },
  { additionalProperties: false },
);

export const smtpRuleRoutes: FastifyPluginAsync<SmtpRuleRoutesDeps> = async (fastify, { rules }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/smtp/rules',
    {
      schema: {
        summary: 'The SMTP reject and delay rules in force',
        description:
          "Every rule, in the order tried: first those made by Mailpit's chaos triggers and MailHog's Jim, each with its origin, then the user's (--smtp-reject, PUT).",
        tags: ['smtp'],
        response: { 200: SmtpRulesSchema },
      },
    },
    async () => ({ rules: rules.rules }),
  );

  app.put(
    '/smtp/rules',
    {
      schema: {
        summary: "Replace the user's SMTP reject and delay rules at once",
        description:
          'Replaces every rule without an origin; the rules made by the chaos APIs stay, and a rule with an origin is refused. ' +
          'Answers every rule in force, as GET does. Nothing changes when any rule is invalid. Commands already waiting out a delay keep the rule they matched.',
        tags: ['smtp'],
        body: SmtpRulesSchema,
        response: { 200: SmtpRulesSchema, 400: ErrorBody },
      },
    },
    async (request) => {
      try {
        rules.replace(request.body.rules);
      } catch (error) {
        if (error instanceof RuleError) throw badRequest(error.index === undefined ? error.message : `body/rules/${error.index}: ${error.message}`);
        throw error;
      }
      return { rules: rules.rules };
    },
  );
};
