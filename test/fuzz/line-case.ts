import type { Changes, FuzzConn } from './conn.js';
import type { CaseEnv } from './env.js';
import { fragments } from './mutate.js';

/** What a POP2 or POP3 model offers the shared parts of a case. */
export interface LineModel {
  changes: Changes;
  problems: readonly string[];
  settled(): boolean;
  unexpectedClose(): boolean;
  waitingFor(): string;
}

export type LineCaseKind = 'session' | 'junk' | 'long' | 'burst' | 'http' | 'errors' | 'drop';

/** The kinds of a POP2 or POP3 case, drawn for one case, and its greeting awaited; null (reported) when none came. */
export async function openLineCase(env: CaseEnv, model: LineModel): Promise<LineCaseKind | null> {
  const kind = env.rng.weighted<LineCaseKind>([
    [45, 'session'],
    [12, 'junk'],
    [10, 'long'],
    [10, 'burst'],
    [5, 'http'],
    [8, 'errors'],
    [10, 'drop'],
  ]);
  env.kind(kind);
  if (await settles(env, model)) return kind;
  env.problem(`no greeting within ${env.replyMs} ms`);
  return null;
}

/**
 * Sends a case's lines: a session most often one line at a time, each after
 * the reply to the last; otherwise all at once in random fragments. Then
 * waits for every reply (or drops the connection, for `drop`) and reports
 * what the model found.
 */
export async function sendLineCase(env: CaseEnv, model: LineModel, conn: FuzzConn, kind: LineCaseKind, lines: readonly Buffer[]): Promise<void> {
  const { rng } = env;
  if (kind === 'session' && rng.chance(0.6)) {
    for (const line of lines) {
      conn.write(line);
      if (!(await settles(env, model))) break;
      if (conn.ended || model.problems.length > 0) break;
    }
  } else {
    for (const piece of fragments(rng, Buffer.concat(lines))) conn.write(piece);
  }
  if (kind === 'drop') {
    if (rng.chance(0.5)) await new Promise((resolve) => setTimeout(resolve, rng.int(0, 20)));
    conn.drop();
  } else if (!(await settles(env, model))) {
    env.problem(`waited ${env.replyMs} ms for ${model.waitingFor()} (sent ${conn.transcript()})`);
  } else if (model.unexpectedClose()) {
    env.problem(`the server closed the connection unexpectedly, still owing ${model.waitingFor()} (sent ${conn.transcript()})`);
  }
  for (const problem of model.problems) env.problem(`${problem} (sent ${conn.transcript()})`);
}

function settles(env: CaseEnv, model: LineModel): Promise<boolean> {
  return model.changes.until(() => model.settled() || model.problems.length > 0, env.replyMs);
}
