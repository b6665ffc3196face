import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalAdmission } from './local-admission.js';

/** Whether `turn()` resolved by the time the pending callbacks and microtasks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('LocalAdmission', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('lets a fast endpoint ask the gate only while the process is below the cap, and the next one goes when a slot is given back', async () => {
    const local = new LocalAdmission();
    await local.turn('ep', 2);
    await local.turn('ep', 2);
    const third = local.turn('ep', 2);
    expect(await settled(third)).toBe(false);
    local.leave('ep', 5);
    expect(await settled(third)).toBe(true);
  });

  it('never makes a delivery wait more than a second', async () => {
    const local = new LocalAdmission();
    await local.turn('ep', 1);
    const second = local.turn('ep', 1);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settled(second)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(second)).toBe(true);
  });

  it('sends a slow endpoint’s deliveries to the gate at once (to be parked there, not kept in a worker slot)', async () => {
    const local = new LocalAdmission();
    await local.turn('slow', 1);
    local.leave('slow', 10_000);
    await local.turn('slow', 1);
    expect(await settled(local.turn('slow', 1))).toBe(true);
  });

  it('stops waiting for an endpoint whose attempts have not answered for a second (hanging): the gate parks the rest', async () => {
    const local = new LocalAdmission();
    await local.turn('hang', 1);
    await vi.advanceTimersByTimeAsync(400);
    const early = local.turn('hang', 1);
    await vi.advanceTimersByTimeAsync(599);
    expect(await settled(early)).toBe(false); // waits only until a second after the first began
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(early)).toBe(true);
    local.held('hang', true, 1); // parked; a hold is not an answer
    expect(await settled(local.turn('hang', 1))).toBe(true);
  });

  it('takes what it has in flight as its share when the gate refuses for want of a slot, and the free slots back on an admission', async () => {
    const local = new LocalAdmission();
    for (let i = 0; i < 4; i++) await local.turn('ep', 8);
    await local.turn('ep', 8);
    local.held('ep', true, 8); // refused with 4 in flight: other processes hold the other 4 slots
    expect(await settled(local.turn('ep', 8))).toBe(false); // the 5th waits for one of the 4
    local.leave('ep', 2);
    // A pause or an open circuit says nothing about slots: the share stays.
    const other = new LocalAdmission();
    await other.turn('ep', 8);
    other.held('ep', false, 8);
    for (let i = 0; i < 8; i++) await other.turn('ep', 8);
    expect(await settled(other.turn('ep', 8))).toBe(false);
    // An admission that finds the other processes' slots free gives the whole cap back to this process.
    const grown = new LocalAdmission();
    await grown.turn('ep', 4);
    await grown.turn('ep', 4);
    grown.held('ep', true, 4); // share 1
    grown.admitted('ep', 4, 1); // only this process's one attempt in flight anywhere
    for (let i = 0; i < 3; i++) await grown.turn('ep', 4);
    expect(await settled(grown.turn('ep', 4))).toBe(false);
  });

  it('takes the slots the gate reports free as its share, so processes sharing an endpoint do not race for them', async () => {
    const local = new LocalAdmission();
    for (let i = 0; i < 3; i++) await local.turn('ep', 8);
    local.admitted('ep', 8, 7); // 7 in flight in all processes, 3 of them here: 1 slot is free
    await local.turn('ep', 8); // the 4th takes it
    expect(await settled(local.turn('ep', 8))).toBe(false); // the 5th waits for one of this process's own
    // The other processes' attempts ended: the next admission finds the cap free but for this process's 4.
    const alone = new LocalAdmission();
    for (let i = 0; i < 4; i++) await alone.turn('ep', 8);
    alone.admitted('ep', 8, 8); // the cap is full: 4 here, 4 elsewhere
    expect(await settled(alone.turn('ep', 8))).toBe(false);
    alone.admitted('ep', 8, 4);
    expect(await settled(alone.turn('ep', 8))).toBe(true);
  });

  it('expects an admission for a fast endpoint below its share, until the gate holds one of its deliveries', async () => {
    const local = new LocalAdmission();
    expect(local.likelyAdmitted('ep', 2)).toBe(false); // nothing known of it yet
    await local.turn('ep', 2);
    local.admitted('ep', 2, 1);
    local.leave('ep', 3); // answered in 3 ms
    expect(local.likelyAdmitted('ep', 2)).toBe(true);
    await local.turn('ep', 2);
    await local.turn('ep', 2);
    expect(local.likelyAdmitted('ep', 2)).toBe(false); // at its share
    local.leave('ep', 3);
    local.held('ep', false, 2); // a pause, rate window or open circuit
    expect(local.likelyAdmitted('ep', 2)).toBe(false);
    await local.turn('ep', 2);
    local.admitted('ep', 2, 1); // admitted again: the hold is over
    local.leave('ep', 3);
    expect(local.likelyAdmitted('ep', 2)).toBe(true);
    local.leave('slow', 5000);
    expect(local.likelyAdmitted('slow', 2)).toBe(false);
  });

  it('asks without parking while its own attempts of a fast endpoint are in flight, and waits for one of them to end', async () => {
    const local = new LocalAdmission();
    const calls: boolean[] = [];
    // Nothing of its own in flight: no completion here will come to wait for, so the first asks with parking.
    const first = await local.ask('ep', 2, async (park) => (calls.push(park), { admitted: true }));
    expect(first.admitted).toBe(true);
    expect(calls).toEqual([true]);
    // The gate refuses (other processes hold the rest of the cap) without parking; the delivery waits here.
    calls.length = 0;
    const answers = [{ admitted: false, wakeAt: 0, parked: false }, { admitted: true }];
    const second = local.ask('ep', 2, async (park) => (calls.push(park), answers.shift()!));
    expect(await settled(second.then(() => undefined))).toBe(false);
    local.leave('ep', 3); // the first attempt answered: the second asks again (nothing left in flight: parking)
    expect((await second).admitted).toBe(true);
    expect(calls).toEqual([false, true]);
    // A pause or rate window: the gate parks it even when asked not to (no slot will end it); no second ask.
    calls.length = 0;
    await local.ask('ep', 4, async (park) => (calls.push(park), { admitted: false, wakeAt: Date.now() + 5000, parked: true }));
    expect(calls).toEqual([false]);
  });

  it('keeps a delivery a second in all at most, however often the gate refuses it', async () => {
    const local = new LocalAdmission();
    await local.turn('ep', 2);
    await local.turn('ep', 2);
    local.leave('ep', 5); // fast: answered in 5 ms
    await local.turn('ep', 2);
    const asked: Array<{ at: number; park: boolean }> = [];
    const answers = [
      { admitted: false, wakeAt: 0, parked: false },
      { admitted: false, wakeAt: 0, parked: true },
    ];
    const start = Date.now();
    const third = local.ask('ep', 2, async (park) => (asked.push({ at: Date.now() - start, park }), answers.shift()!));
    await vi.advanceTimersByTimeAsync(500);
    local.leave('ep', 5); // one answers: the third asks, and is refused for want of a slot (another process has it)
    await vi.advanceTimersByTimeAsync(2000);
    expect((await third).admitted).toBe(false);
    expect(asked.map((a) => a.park)).toEqual([false, true]);
    // Its second ask, with parking, comes at its deadline: it does not wait for another turn past it.
    expect(asked[1].at).toBeLessThanOrEqual(1000);
  });

  it('forgets an endpoint after ten minutes with nothing in flight here, and keeps one that is busy', async () => {
    const local = new LocalAdmission();
    for (const id of ['gone', 'busy', 'busy']) {
      await local.turn(id, 4);
      local.admitted(id, 4, 1);
    }
    local.leave('gone', 5); // idle from now
    local.leave('busy', 5); // answered once; its other attempt stays in flight
    expect(local.likelyAdmitted('gone', 4)).toBe(true);
    expect(local.likelyAdmitted('busy', 4)).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await local.turn('other', 4); // an attempt anywhere looks for idle endpoints (at most once a minute)
    expect(local.known).toBe(2); // busy and other
    expect(local.likelyAdmitted('gone', 4)).toBe(false); // starts afresh: no answer time known
    expect(local.likelyAdmitted('busy', 4)).toBe(true); // still knows its answer time
  });
});
