import type { Writable } from 'node:stream';

/**
 * Unsent output a session may hold. Past it, the session stops reading the
 * client's commands until the socket drains, so a client that pipelines
 * commands and never reads their replies pins this much and no more.
 */
export const OUTPUT_HIGH_WATER = 1024 * 1024;

export function congested(socket: Writable): boolean {
  return socket.writableLength > OUTPUT_HIGH_WATER;
}

/** Resolves once the socket has drained, or is gone. */
export function drained(socket: Writable): Promise<void> {
  if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done).off('close', done).off('error', done);
      resolve();
    };
    socket.on('drain', done).on('close', done).on('error', done);
  });
}
