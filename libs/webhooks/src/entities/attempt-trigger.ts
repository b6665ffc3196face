/** What started an attempt's round: the schedule, a manual redelivery, a test send, a recovery of a time range. */
export const ATTEMPT_TRIGGERS = ['scheduled', 'manual', 'test', 'recover'] as const;
export type AttemptTrigger = (typeof ATTEMPT_TRIGGERS)[number];
