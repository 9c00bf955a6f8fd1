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
    on: Type.Union([Type.Literal('mail'), Type.Literal('rcpt'), Type.Literal('data'), Type.Literal('size')], {
      description: 'mail: MAIL FROM; rcpt: each RCPT TO; data: end of DATA, matched against every accepted recipient; size: end of DATA, matched against the message size',
    }),
    match: Type.String({
      maxLength: RULE_LIMITS.textLength,
      description: 'Address glob, case-insensitive (* any characters, ? one; <> is the null sender); for size a threshold: >SIZE, >=SIZE or SIZE (meaning >SIZE), such as >1MB',
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
    delay: Type.Optional(
      Type.Integer({ minimum: 0, maximum: RULE_LIMITS.delayMs, description: 'Milliseconds to wait before replying; without reply the command is then answered normally' }),
    ),
    probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Share of matching commands the rule applies to; 1 when absent' })),
  },
  { additionalProperties: false, description: 'A rule needs a reply, a delay or both' },
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
        summary: 'Replace every SMTP reject and delay rule at once',
        description: 'Nothing changes when any rule is invalid. Commands already waiting out a delay keep the rule they matched.',
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
