import { parseSearch, parseSort, parseThread, runSearch, runSort, searchResponse, threadResponse, type SearchContext } from '../search/index.js';
import type { ImapSession } from '../session.js';
import { SELECTED, bad, no, type CommandSpec, type Completion } from './command.js';

/** The selected mailbox to search, noting messages left out because they are gone and their text was needed. */
function context(session: ImapSession): SearchContext & { unknown: boolean } {
  const selected = session.selected!;
  const messages = selected.messages;
  const ctx = {
    messages,
    unknown: false,
    isRecent: (index: number) => selected.isRecent(messages[index]!),
    onUnknown: () => {
      ctx.unknown = true;
    },
  };
  return ctx;
}

/** As Dovecot: OK [EXPUNGEISSUED] when a message expunged elsewhere could not be tested (RFC 5530). */
function outcome(ctx: { unknown: boolean }): Completion | undefined {
  return ctx.unknown ? { code: 'EXPUNGEISSUED' } : undefined;
}

function refuse(error: { error: string; code?: string }): never {
  throw error.code === 'BADCHARSET' ? no(error.error, 'BADCHARSET (US-ASCII UTF-8)') : bad(error.error);
}

/** RFC 3501 §6.4.4, with ESEARCH's RETURN options (RFC 4731). */
export const search: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const request = parseSearch(command.args, { esearch: true });
    if ('error' in request) refuse(request);
    const ctx = context(session);
    await session.write(Buffer.from(searchResponse(runSearch(request, ctx), request, ctx, { uid, tag: command.tag }), 'latin1'));
    return outcome(ctx);
  },
};

/** RFC 5256 §3 SORT. */
export const sort: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const request = parseSort(command.args);
    if ('error' in request) refuse(request);
    const ctx = context(session);
    const ordered = runSort(request, ctx);
    await session.writeLine(`* SORT${ordered.map((i) => ` ${uid ? ctx.messages[i]!.uid : i + 1}`).join('')}`);
    return outcome(ctx);
  },
};

/** RFC 5256 §3 THREAD. */
export const thread: CommandSpec = {
  states: SELECTED,
  uid: true,
  async handle(session, command, uid) {
    const request = parseThread(command.args);
    if ('error' in request) refuse(request);
    const ctx = context(session);
    await session.write(Buffer.from(threadResponse(request, ctx, { uid }), 'latin1'));
    return outcome(ctx);
  },
};
