export const REPORT_PATH: string;
/** The report's text, computed from the sources. */
export function renderReport(): string;
/** The checked-in report. */
export function readReport(): string;
