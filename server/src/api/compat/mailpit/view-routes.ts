import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { MailpitContext } from './context.js';
import { linkInlineImages } from './inline-images.js';
import { queryGet, type Query } from '../go-values.js';
import { linksInNewWindow } from './embed.js';
import { LENIENT } from './params.js';
import { enmimeBodies, listed } from './parts.js';
import { sendMessageNotFound, sendText } from './replies.js';

export interface ViewRoutesDeps {
  context: MailpitContext;
}

/**
 * The HTML as a page of Mailroom's origin: no script, form or plugin can run, and nothing loads
 * but its own `cid:` images (same origin, which the sandbox keeps), inline styles and data: URIs.
 */
const VIEW_POLICY = "sandbox allow-same-origin; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'";

/** Go's http.Redirect: the Location, and for GET a small HTML body naming it. */
function redirect(reply: FastifyReply, status: 301 | 302, location: string): FastifyReply {
  const href = location.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&#34;').replaceAll("'", '&#39;');
  return sendText(reply.header('location', location), status, `<a href="${href}">${status === 301 ? 'Moved Permanently' : 'Found'}</a>.\n\n`, 'text/html; charset=utf-8');
}

const FileParams = Type.Object({ file: Type.String({ description: '`<id>.html`, `<id>.txt` (id may be `latest`), or `latest`' }) });

export const viewRoutes: FastifyPluginAsync<ViewRoutesDeps> = async (app, { context }) => {
  const { store } = context;

  app.get(
    '/view/:file',
    {
      ...LENIENT,
      schema: {
        tags: ['mailpit'],
        summary: "A message's HTML or text part on its own, marking it read; /view/latest redirects to the newest (Mailpit)",
        description:
          '`cid:` images in the HTML point at /api/v1/message/{id}/part/{partId}. With `?embed=1` every link gets target="_blank" and rel="noreferrer noopener", as in Mailpit; Mailpit\'s height-posting script is not added, since the page runs no script.',
        params: FileParams,
        querystring: Type.Object({ query: Type.Optional(Type.String()), tz: Type.Optional(Type.String()), embed: Type.Optional(Type.String()) }),
      },
    },
    async (request, reply) => {
      const { file } = request.params as { file: string };
      const query = request.query as Query;
      const html = file.endsWith('.html');
      if (!html && !file.endsWith('.txt')) {
        if (file === 'latest') {
          const newest = context.resolve('latest', query);
          return redirect(reply, 302, newest === 'none' || newest === undefined ? '/' : `/view/${newest.id}`);
        }
        // Mailpit's own page for a message; Mailroom's inbox shows it instead.
        return redirect(reply, 302, `/#/messages/${encodeURIComponent(file)}`);
      }
      const message = context.resolve(file.slice(0, html ? -5 : -4), query);
      if (message === 'none' || message === undefined) return sendMessageNotFound(reply);
      // Mailpit reads the whole message, which marks it read, before it looks for the HTML.
      await store.setRead(message.id, true);
      const facts = context.facts.of(message);
      const bodies = enmimeBodies(message.raw, facts.view);
      if (html && bodies.html === '') return sendMessageNotFound(reply, 'This message does not contain a HTML part');
      if (!html) return sendText(reply, 200, bodies.text, 'text/plain; charset=utf-8');
      const parts = [...listed(facts.view.inlines), ...listed(facts.view.others), ...listed(facts.view.attachments)];
      reply.header('content-security-policy', VIEW_POLICY);
      const page = linkInlineImages(bodies.html, message.id, parts);
      return sendText(reply, 200, queryGet(query, 'embed') === '1' ? linksInNewWindow(page) : page, 'text/html; charset=utf-8');
    },
  );

  // cypress-mailpit asks for `<base>//view/<id>.html`; Go's mux answers an unclean path with a 301 to the clean one.
  app.get('//view/:file', { schema: { hide: true } }, async (request, reply) => redirect(reply, 301, request.url.slice(1)));
};
