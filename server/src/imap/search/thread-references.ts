import type { ImapMessage } from '../message.js';
import { factsOrBlank } from './message-facts.js';
import { byDate, type ThreadNode } from './thread-tree.js';

const NONE = -1;

/**
 * RFC 5256 §3 REFERENCES step 1: the message-id table and its parent/child links, in
 * arrays indexed by node number. A node is a message (`message[n]` is its
 * index) or a dummy standing for a referenced message that is not there.
 */
class Links {
  readonly message: Int32Array;
  readonly parent: Int32Array;
  /** Children per node, so that a loop check is needed only for a node that has some. */
  private readonly childCount: Int32Array;
  private readonly byId = new Map<string, number>();
  count = 0;

  /** `capacity`: one node per message and per reference at most. */
  constructor(capacity: number) {
    this.message = new Int32Array(capacity);
    this.parent = new Int32Array(capacity).fill(NONE);
    this.childCount = new Int32Array(capacity);
  }

  add(message: number): number {
    this.message[this.count] = message;
    return this.count++;
  }

  /** The node of a message-id, a dummy until its message turns up. */
  node(id: string): number {
    let node = this.byId.get(id);
    if (node === undefined) {
      node = this.add(NONE);
      this.byId.set(id, node);
    }
    return node;
  }

  /** A message's own node; a repeated Message-ID, or none, gets a node of its own (step 1(A)). */
  own(id: string | null, message: number): number {
    if (id !== null) {
      const node = this.node(id);
      if (this.message[node] === NONE) {
        this.message[node] = message;
        return node;
      }
    }
    return this.add(message);
  }

  setParent(child: number, parent: number): void {
    const old = this.parent[child]!;
    if (old !== NONE) this.childCount[old]!--;
    this.parent[child] = parent;
    if (parent !== NONE) this.childCount[parent]!++;
  }

  /** Whether `ancestor` is `node` or above it. */
  private isAncestor(ancestor: number, node: number): boolean {
    for (let n = node; n !== NONE; n = this.parent[n]!) if (n === ancestor) return true;
    return false;
  }

  /**
   * Step 1(A): link a parent and a child unless the child already has a
   * parent (the first link wins) or the link would make a loop.
   */
  link(parent: number, child: number): void {
    if (this.parent[child] !== NONE || parent === child) return;
    if (this.childCount[child]! > 0 && this.isAncestor(child, parent)) return;
    this.setParent(child, parent);
  }
}

interface Root {
  node: number;
  dummy: boolean;
  ignore: boolean;
  /** The message the root is sorted by: itself, or a dummy's oldest child. */
  first: number;
  /** Step 5(B): the root this one merges into, by position in the roots list; NONE for none. */
  mergeInto: number;
  replyOrForward: boolean;
}

/**
 * THREAD=REFERENCES (RFC 5256 §3) over the matching messages (0-based
 * indexes, ascending), with Dovecot's readings of the open points: a
 * message's References (or else In-Reply-To) replace any parent an earlier
 * message's references gave it; dummies are dropped by hanging each message
 * under its nearest real ancestor (or the top dummy); threads and siblings
 * are ordered by sent date, then UID; subjects are gathered only from roots.
 * Hash maps throughout, no step quadratic in the number of messages.
 */
export function referencesThreads(hits: readonly number[], messages: readonly ImapMessage[]): ThreadNode[] {
  const facts = hits.map((index) => factsOrBlank(messages[index]!));
  const links = new Links(facts.reduce((sum, f) => sum + 1 + f.threadLinks().references.length, 0));
  hits.forEach((index, k) => {
    const { id, references } = facts[k]!.threadLinks();
    const self = links.own(id, index);
    let parent = NONE;
    for (const ref of references) {
      const node = links.node(ref);
      if (parent !== NONE) links.link(parent, node);
      parent = node;
    }
    // Step 1(B): the last reference is the parent; any other parent is dropped first.
    if (links.parent[self] !== parent) links.setParent(self, NONE);
    if (parent !== NONE) links.link(parent, self);
  });

  // Steps 2 and 3: roots, and each message under its nearest real ancestor.
  const nodeCount = links.count;
  /** Children per node, made when the first one comes (most nodes have none). */
  const children: (number[] | undefined)[] = new Array<number[] | undefined>(nodeCount);
  const addChild = (parent: number, child: number): void => {
    const list = children[parent];
    if (list === undefined) children[parent] = [child];
    else list.push(child);
  };
  const anchor = new Int32Array(nodeCount).fill(NONE);
  const anchorOf = (start: number): number => {
    const path: number[] = [];
    let n = start;
    while (anchor[n] === NONE && links.message[n] === NONE && links.parent[n] !== NONE) {
      path.push(n);
      n = links.parent[n]!;
    }
    const found = anchor[n] !== NONE ? anchor[n]! : n;
    for (const p of path) anchor[p] = found;
    return found;
  };
  const roots: Root[] = [];
  for (let n = 0; n < nodeCount; n++) {
    const message = links.message[n]!;
    if (links.parent[n] === NONE) {
      roots.push({ node: n, dummy: message === NONE, ignore: false, first: message, mergeInto: NONE, replyOrForward: false });
    } else if (message !== NONE) {
      addChild(anchorOf(links.parent[n]!), n);
    }
  }

  const compare = byDate(messages);
  const sortNodes = (nodes: number[] | undefined): number[] => (nodes === undefined ? [] : nodes.sort((a, b) => compare(links.message[a]!, links.message[b]!)));
  const sortRoots = (): void => {
    for (const root of roots) {
      if (root.ignore || !root.dummy) continue;
      const kids = sortNodes(children[root.node]);
      if (kids.length === 0) {
        root.ignore = true;
      } else if (kids.length === 1) {
        // Step 3, deferred: a dummy root with one child gives way to it.
        root.node = kids[0]!;
        root.dummy = false;
      } else {
        // A dummy sorts as its oldest child.
        root.first = links.message[kids[0]!]!;
      }
    }
    for (const root of roots) if (!root.dummy && !root.ignore) root.first = links.message[root.node]!;
    roots.sort((a, b) => (a.ignore || b.ignore ? Number(a.ignore) - Number(b.ignore) : compare(a.first, b.first)));
  };

  // Step 4, then step 5: gather roots by base subject.
  sortRoots();
  const bySubject = new Map<string, number>();
  roots.forEach((root, i) => {
    if (root.ignore) return;
    const subject = factsOrBlank(messages[root.first]!).baseSubject();
    if (subject === null || subject.subject === '') return;
    const held = bySubject.get(subject.subject);
    if (held === undefined) {
      bySubject.set(subject.subject, i);
    } else {
      const other = roots[held]!;
      if (!other.dummy && (root.dummy || (other.replyOrForward && !subject.replyOrForward))) {
        other.mergeInto = i;
        bySubject.set(subject.subject, i);
      } else {
        root.mergeInto = held;
      }
    }
    root.replyOrForward = subject.replyOrForward;
  });

  // Step 5(C): merge the threads that share a subject.
  let changed = false;
  const count = roots.length;
  for (let i = 0; i < count; i++) {
    const cur = roots[i]!;
    if (cur.mergeInto === NONE || cur.ignore) continue;
    changed = true;
    let top = cur;
    do top = roots[top.mergeInto]!;
    while (top.mergeInto !== NONE);
    if (cur.dummy) {
      // Both dummies: the children become siblings.
      for (const child of children[cur.node] ?? []) addChild(top.node, child);
      children[cur.node] = undefined;
      cur.ignore = true;
    } else if (top.dummy || (cur.replyOrForward && !top.replyOrForward)) {
      addChild(top.node, cur.node);
      cur.ignore = true;
    } else {
      // Neither is the other's parent: both go under a new dummy.
      children.push([top.node, cur.node]);
      top.mergeInto = roots.length;
      top.ignore = true;
      cur.ignore = true;
      roots.push({ node: children.length - 1, dummy: true, ignore: false, first: NONE, mergeInto: NONE, replyOrForward: false });
    }
  }
  if (changed) sortRoots();

  // The tree, built without recursion: threads can be thousands of replies deep.
  const build = (top: number, dummy: boolean): ThreadNode => {
    const made = { index: dummy ? null : links.message[top]!, children: [] as ThreadNode[] };
    const objects: { children: ThreadNode[] }[] = [made];
    const nodes: number[] = [top];
    while (nodes.length > 0) {
      const parent = objects.pop()!;
      for (const kid of sortNodes(children[nodes.pop()!])) {
        const child = { index: links.message[kid]!, children: [] as ThreadNode[] };
        parent.children.push(child);
        objects.push(child);
        nodes.push(kid);
      }
    }
    return made;
  };
  return roots.filter((root) => !root.ignore).map((root) => build(root.node, root.dummy));
}
