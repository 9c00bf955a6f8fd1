export function staleReason(): string | null;
export function build(): void;
export function buildIfStale(): string | null;
