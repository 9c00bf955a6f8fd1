import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { deflateRaw } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Zip, ZipPassThrough } from 'fflate';
import { Type } from 'typebox';
import type { BodyTexts } from '../../search/body-texts.js';
import type { Store } from '../../store/store.js';
import type { StoredMessage } from '../../store/types.js';
import { filterOf } from '../query-filter.js';
import { HttpError } from '../errors.js';
import { safeFilename } from '../safe-filename.js';
import { ErrorBody, QueryString } from '../schemas.js';
import { standaloneHtml } from '../standalone-html.js';

export interface ExportRoutesDeps {
  store: Store;
  texts: BodyTexts;
  /** Most messages one export holds; more answer 413. */
  maxMessages?: number;
  /** Most raw bytes one export holds; more answer 413. */
  maxBytes?: number;
}

export const EXPORT_MAX_MESSAGES = 1000;
export const EXPORT_MAX_BYTES = 200 * 1024 * 1024;

const deflate = promisify(deflateRaw);

/**
 * A zip entry compressed ahead of time by zlib on the thread pool, so a large
 * export never holds up the event loop; fflate's documented way to bring its
 * own compression is a ZipPassThrough that reports method 8 (deflate).
 */
class Deflated extends ZipPassThrough {
  constructor(
    filename: string,
    private readonly deflated: Uint8Array,
  ) {
    super(filename);
    this.compression = 8;
  }

  protected override process(_chunk: Uint8Array, final: boolean): void {
    this.ondata(null, this.deflated as Uint8Array<ArrayBuffer>, final);
  }
}


/** DOS time in a zip entry covers 1980 to 2107; fflate refuses dates outside 1980-2099. */
const clampTime = (time: number): number => Math.min(Math.max(time, Date.UTC(1980, 0, 2)), Date.UTC(2099, 11, 30));

/**
 * `<received ISO time>-<id>-<subject>`: sortable by arrival, unique by id,
 * readable by subject. Colons become dashes and path and shell-hostile
 * characters underscores, so the names unpack on Windows too.
 */
export function exportName(message: StoredMessage): string {
  const when = new Date(message.receivedAt).toISOString().replace(/:/g, '-');
  const cleaned = message.digest.subject.replace(/[\\/:*?"<>|]+/g, '_').replace(/\s+/g, ' ').trim();
  const subject = safeFilename(Array.from(cleaned).slice(0, 80).join('').replace(/[. ]+$/, ''), '');
  return subject === '' ? `${when}-${message.id}` : `${when}-${message.id}-${subject}`;
}

/** The zip, message by message, oldest first: chunks come as the stream reader asks for them. */
async function* zipChunks(messages: readonly StoredMessage[]): AsyncGenerator<Uint8Array> {
  const pending: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((error, chunk) => {
    if (error) failure = error;
    else pending.push(chunk);
  });
  const add = async (name: string, content: Buffer, mtime: number): Promise<void> => {
    const file = new Deflated(name, await deflate(content));
    file.mtime = mtime;
    zip.add(file);
    file.push(content, true);
  };
  for (const message of messages) {
    const name = exportName(message);
    const mtime = clampTime(message.receivedAt);
    await add(`${name}.eml`, message.raw, mtime);
    const html = standaloneHtml(message);
    if (html !== null) await add(`${name}.html`, Buffer.from(html, 'utf8'), mtime);
    if (failure) throw failure;
    yield* pending.splice(0);
  }
  zip.end();
  if (failure) throw failure;
  yield* pending.splice(0);
}

export const exportRoutes: FastifyPluginAsync<ExportRoutesDeps> = async (fastify, deps) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, texts } = deps;
  const maxMessages = deps.maxMessages ?? EXPORT_MAX_MESSAGES;
  const maxBytes = deps.maxBytes ?? EXPORT_MAX_BYTES;

  app.get(
    '/messages/export',
    {
      schema: {
        summary: 'A zip of the messages matching a query, for test failure artifacts',
        description:
          'Oldest first, each as `<received ISO time>-<id>-<subject>.eml` (the exact bytes received) and, when it has an HTML body, ' +
          'the same name with `.html`: a standalone page with a From/To/Subject/Date block, cid: images inlined as data: URIs ' +
          'and a Content-Security-Policy that blocks script, form submission, <base> and remote loads; meta refresh, forms, ' +
          `<base> and script are removed. At most ${maxMessages} messages and ` +
          `${maxBytes / 1024 / 1024} MiB of raw mail; beyond either, 413.`,
        tags: ['messages'],
        querystring: Type.Object({ query: Type.Optional(QueryString) }),
        produces: ['application/zip'],
        response: {
          200: Type.Unsafe<Readable>({ type: 'string', format: 'binary', description: 'application/zip' }),
          400: ErrorBody,
          413: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const page = store.page(filterOf(request.query.query, texts), 0, maxMessages);
      if (page.total > maxMessages) {
        throw new HttpError(413, 'payload_too_large', `${page.total} messages match; an export holds at most ${maxMessages}: narrow the query`);
      }
      const bytes = page.messages.reduce((n, m) => n + m.raw.length, 0);
      if (bytes > maxBytes) {
        throw new HttpError(413, 'payload_too_large', `The matching messages hold ${bytes} bytes; an export holds at most ${maxBytes}: narrow the query`);
      }
      const messages = page.messages.slice().reverse();
      return reply
        .type('application/zip')
        .header('content-disposition', 'attachment; filename="mailroom-export.zip"')
        .header('x-content-type-options', 'nosniff')
        .send(Readable.from(zipChunks(messages), { objectMode: false }));
    },
  );
};
