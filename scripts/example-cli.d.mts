export const CLI_ENTRY: string;
export const MAIN_ENTRY: string;
export function cliBuildIsFresh(): boolean;
export function ensureCliBuilt(): boolean;
