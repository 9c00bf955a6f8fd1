/** The child's store holds this many messages (of ~2 KB, under its byte cap in GiB), so no run evicts. */
export const CHILD_MAX_MESSAGES = 1_000_000;
export const CHILD_MAX_STORE_GIB = 4;

/** What the benchmark asks the Mailroom child process. */
export interface ChildRequest {
  id: number;
  cmd: 'gc' | 'cpu';
}

/** What the Mailroom child process sends back. */
export type ChildMessage =
  | { type: 'ready'; ports: { smtp: number; http: number; pop3: number }; apiUrl: string }
  | { type: 'failed'; message: string }
  | { type: 'gc'; id: number; memory: NodeJS.MemoryUsage }
  | { type: 'cpu'; id: number; cpu: NodeJS.CpuUsage };
