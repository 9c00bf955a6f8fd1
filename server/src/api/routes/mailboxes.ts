import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { MailboxIndex } from '../../store/mailbox-index.js';

export interface MailboxRoutesDeps {
  mailboxes: MailboxIndex;
}

export const MailboxSchema = Type.Object({
  address: Type.String({ description: 'An envelope recipient (RCPT TO), lower-cased' }),
  total: Type.Integer({ description: 'Messages with this address among their envelope recipients' }),
  unread: Type.Integer({ description: 'Unread messages among them' }),
});

export const MailboxesSchema = Type.Object({ mailboxes: Type.Array(MailboxSchema) });

export type Mailbox = Static<typeof MailboxSchema>;

export const mailboxRoutes: FastifyPluginAsync<MailboxRoutesDeps> = async (fastify, { mailboxes }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/mailboxes',
    {
      schema: {
        summary: 'Every envelope recipient with its message and unread counts, sorted by address',
        description: 'Bcc recipients included. List one mailbox\'s messages with `GET /api/messages?query=to:<address>`.',
        tags: ['messages'],
        response: { 200: MailboxesSchema },
      },
    },
    async () => ({ mailboxes: mailboxes.list() }),
  );
};
