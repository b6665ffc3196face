/**
 * A string as the library stores it: U+0000, which PostgreSQL refuses in text, becomes U+FFFD (response bodies keep
 * the rest of what they said). Nothing else stored holds a NUL character, so a filter value or id put in this form
 * matches what was stored from it, or nothing, instead of failing the query.
 */
export function storedText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}
