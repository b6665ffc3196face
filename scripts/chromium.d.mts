/** The path of a Chromium executable, installed with apt-get first when missing and possible. */
export function ensureChromium(): string;
/** Launch flags for a quiet headless start on a machine without outside network. */
export const CHROMIUM_ARGS: string[];
