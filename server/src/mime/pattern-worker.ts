/** The thread PatternRunner starts: finds codes for one request at a time. */
import { parentPort } from 'node:worker_threads';
import { findCodes, PatternError } from './codes.js';

export interface PatternJob {
  text: string;
  pattern: string;
}

export type PatternAnswer = { codes: string[] } | { error: string; invalid: boolean };

const port = parentPort!;
port.on('message', ({ text, pattern }: PatternJob) => {
  let answer: PatternAnswer;
  try {
    answer = { codes: findCodes(text, pattern) };
  } catch (error) {
    answer = { error: (error as Error).message, invalid: error instanceof PatternError };
  }
  port.postMessage(answer);
});
port.postMessage('ready');
