import type { MessageDetail, MessageSummary } from '../../../server/src/api/schemas.js';
import type { Mailbox } from '../../../server/src/api/routes/mailboxes.js';
import type { PartNode } from '../../../server/src/mime/part-tree.js';

export type { Mailbox, MessageDetail, MessageSummary, PartNode };

export interface TagCount {
  name: string;
  count: number;
}

export interface Page {
  total: number;
  unread: number;
  messages: MessageSummary[];
}

/** An API answer that was not 2xx, with the server's `{ error, message }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body: unknown = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
  if (!response.ok) {
    const message = (body as { message?: string } | null)?.message ?? response.statusText;
    throw new ApiError(response.status, message);
  }
  return body as T;
}

export const api = {
  list: (query: string, offset: number, limit: number): Promise<Page> =>
    request(`/api/messages?${new URLSearchParams({ query, offset: String(offset), limit: String(limit) })}`),
  message: (id: string): Promise<MessageDetail> => request(`/api/messages/${encodeURIComponent(id)}`),
  parts: (id: string): Promise<{ truncated: boolean; root: PartNode }> => request(`/api/messages/${encodeURIComponent(id)}/parts`),
  setRead: (id: string, read: boolean): Promise<MessageSummary> =>
    request(`/api/messages/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ read }),
    }),
  remove: (id: string): Promise<{ deleted: number }> => request(`/api/messages/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  removeAll: (): Promise<{ deleted: number }> => request('/api/messages', { method: 'DELETE' }),
  mailboxes: (): Promise<{ mailboxes: Mailbox[] }> => request('/api/mailboxes'),
  tags: (): Promise<{ tags: TagCount[] }> => request('/api/tags'),
};

export const rawUrl = (id: string): string => `/api/messages/${encodeURIComponent(id)}/raw`;
export const partUrl = (id: string, partId: string, download = false): string =>
  `/api/messages/${encodeURIComponent(id)}/parts/${encodeURIComponent(partId)}${download ? '?download=1' : ''}`;
