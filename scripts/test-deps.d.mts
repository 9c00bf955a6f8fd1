export interface Tool {
  name: string;
  why: string;
  command?: string;
  files?: string[];
  packages: string[];
}
export const TOOLS: readonly Tool[];
export function missingTools(path?: string): Tool[];
export function missingMessage(missing: readonly Tool[]): string;
