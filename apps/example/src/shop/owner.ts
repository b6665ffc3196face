/**
 * The webhook owner of a customer's data (its events and endpoints): the customer's id as a string. A missing id
 * fails the change loudly rather than route its event wrongly.
 */
export function customerOwner(customerId: number | undefined): string {
  if (typeof customerId !== 'number') throw new Error(`no customerId to route the event by (got ${String(customerId)})`);
  return String(customerId);
}
