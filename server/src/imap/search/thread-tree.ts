import type { ImapMessage } from '../message.js';
import { sortDate } from './message-facts.js';

/** A thread node: a message (0-based index), or a dummy (null) standing for a missing parent. */
export interface ThreadNode {
  readonly index: number | null;
  readonly children: readonly ThreadNode[];
}

/**
 * RFC 5256 orders threads and siblings by sent date (§3 REFERENCES steps 4 and 6),
 * falling back to INTERNALDATE; equal dates by UID, as Dovecot does.
 */
export function byDate(messages: readonly ImapMessage[]): (a: number, b: number) => number {
  const dates = new Float64Array(messages.length).fill(Number.NaN);
  const dateOf = (i: number): number => {
    const date = dates[i]!;
    return Number.isNaN(date) ? (dates[i] = sortDate(messages[i]!)) : date;
  };
  return (a, b) => dateOf(a) - dateOf(b) || messages[a]!.uid - messages[b]!.uid;
}

/**
 * The THREAD reply's thread list (RFC 5256 §5 "thread-list"): each thread
 * in parentheses; a parent with one child is followed by it (`1 2 3`), one
 * with several by each child's subthread in parentheses (`1 (2)(3 4)`); a
 * dummy parent is left out, its children kept in its parentheses. Written
 * without recursion, since reply chains can be thousands deep.
 */
export function writeThreads(roots: readonly ThreadNode[], numberOf: (index: number) => number): string {
  const out: string[] = [];
  type Task = string | { nodes: readonly ThreadNode[]; root: boolean };
  const tasks: Task[] = [{ nodes: roots, root: true }];
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    if (typeof task === 'string') {
      out.push(task);
      continue;
    }
    const { nodes, root } = task;
    if (nodes.length === 1 && !root) {
      const node = nodes[0]!;
      out.push(String(numberOf(node.index!)));
      if (node.children.length > 0) tasks.push({ nodes: node.children, root: false }, ' ');
      continue;
    }
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      const number = node.index === null ? '' : String(numberOf(node.index));
      if (node.children.length === 0) {
        if (node.index !== null) tasks.push(`(${number})`);
        continue;
      }
      tasks.push(')', { nodes: node.children, root: false }, node.index === null ? '(' : `(${number} `);
    }
  }
  return out.join('');
}
