/**
 * An endpoint is fast while its attempts here answer within this on average, and one of them ended (or the first
 * began) within this long: its slots free up within moments. It is also the longest a delivery waits here.
 */
const FAST_MS = 1000;
/** Weight of the newest attempt in the moving average of an endpoint's answer times. */
const EWMA_WEIGHT = 0.2;
/**
 * What is known of an endpoint with nothing in flight here for this long is forgotten (it starts afresh, as after a
 * restart): endpoints come and go, and a process must not keep every one it ever sent to.
 */
const FORGET_IDLE_MS = 10 * 60_000;
/** How often, at most, idle endpoints are looked for. */
const SWEEP_EVERY_MS = 60_000;

/**
 * What this process knows about its own attempts per endpoint, to spare the gate work that cannot succeed. A
 * delivery the gate holds costs two queue jobs and two Redis calls (parked, then put back), and once deliveries are
 * parked, newcomers queue behind them: asking the gate while the endpoint is at its cap only feeds that line.
 *
 * So before asking, a delivery to a fast endpoint (one whose attempts here answer in under a second on average, and
 * one of which ended, or the first began, less than a second ago) waits in the process, until then at most, while
 * the process has its share of the endpoint's cap asking or in flight. Its share starts at the whole cap. Each
 * admission tells how many of the endpoint's attempts are in flight in all processes: the share becomes what this
 * process has plus the slots still free, so processes that share an endpoint do not race each other for slots that
 * are not there. When the gate refuses for want of a slot anyway, the share becomes what the process has in flight
 * then. A delivery waits here a second in all at most. A
 * delivery to a slow or hanging endpoint asks the gate at once (a hanging one after its first second) and is
 * parked there, so it does not keep a worker slot while it waits.
 */
export class LocalAdmission {
  private readonly inFlight = new Map<string, number>();
  private readonly share = new Map<string, number>();
  private readonly averageMs = new Map<string, number>();
  /** When an attempt to the endpoint last ended here, or the first of those in flight began. */
  private readonly progressAt = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();
  /**
   * The cap the gate last applied per endpoint: it overrides the caller's (for the default cap, the caller has only
   * an estimate from this process's view of the worker fleet, which may lag by seconds).
   */
  private readonly gateCap = new Map<string, number>();
  /** Endpoints whose last answer from the gate was a hold (a pause, rate window, open circuit or a full cap). */
  private readonly holding = new Set<string>();
  /** Since when each endpoint has had nothing in flight here (see FORGET_IDLE_MS). */
  private readonly idleSince = new Map<string, number>();
  private sweptAt = Date.now();

  /**
   * Waits for the delivery's turn and asks the gate (`acquire`), keeping count of the answer; an admitted delivery is
   * this process's until `leave`. While the process has attempts of a fast endpoint in flight, it asks without
   * parking (`acquire(false)`): refused for want of a slot, the delivery waits here for one of those attempts to end
   * and asks again; otherwise (or once the endpoint stops being fast, or a timed wait is due) it asks with parking.
   */
  async ask<A extends { admitted: boolean; wakeAt?: number; parked?: boolean; inFlight?: number; cap?: number }>(
    endpointId: string,
    cap: number,
    acquire: (park: boolean) => Promise<A>,
  ): Promise<A> {
    // However often it is refused, a delivery waits here at most FAST_MS in all, then it is parked.
    const deadline = Date.now() + FAST_MS;
    for (let park = false; ;) {
      await this.turn(endpointId, cap, Date.now(), deadline);
      // With no other attempt of the endpoint in flight here, no completion will come to wait for: park at once.
      park ||= (this.inFlight.get(endpointId) ?? 1) <= 1 || this.mayWaitMs(endpointId, deadline) === 0;
      let admission: A;
      try {
        admission = await acquire(park);
      } catch (error) {
        this.leave(endpointId, undefined);
        throw error;
      }
      if (admission.admitted) {
        // An answer without the count (none from the gate) says nothing of other processes: the whole cap is free.
        // The gate's cap is the one in force (the default one is worked out there, from all live worker slots).
        this.admitted(endpointId, admission.cap ?? cap, admission.inFlight ?? 0);
        return admission;
      }
      this.held(endpointId, admission.wakeAt === 0, cap);
      if (admission.parked !== false) return admission;
      // Refused for want of a slot, not parked (the gate parks timed waits whatever it is asked): wait here.
      const waitMs = this.mayWaitMs(endpointId, deadline);
      if (waitMs > 0) await this.wait(endpointId, waitMs);
      else park = true;
    }
  }

  /**
   * Whether the gate will most likely admit a delivery to the endpoint at once: it is fast, this process is below
   * its share of the cap, and the gate's last answer for it was no hold. The worker then claims the delivery while
   * it asks the gate, so the two round trips overlap (and undoes the claim in the rare case it is held).
   */
  likelyAdmitted(endpointId: string, cap: number): boolean {
    const average = this.averageMs.get(endpointId);
    if (average === undefined || average >= FAST_MS || this.holding.has(endpointId)) return false;
    return (this.inFlight.get(endpointId) ?? 0) < this.shareOf(endpointId, cap);
  }

  /** How many of the endpoint's attempts this process may have asking or in flight (at least one). */
  private shareOf(endpointId: string, given: number): number {
    const cap = this.capOf(endpointId, given);
    return Math.max(1, Math.floor(Math.min(cap, this.share.get(endpointId) ?? cap)));
  }

  /** The endpoint's cap: the one the gate last applied, else the caller's. */
  private capOf(endpointId: string, given: number): number {
    return this.gateCap.get(endpointId) ?? given;
  }

  /**
   * How long a delivery may wait here for the endpoint: while it is fast and this process has attempts of it, and
   * not past the delivery's `deadline`.
   */
  private mayWaitMs(endpointId: string, deadline: number, now = Date.now()): number {
    const progress = this.progressAt.get(endpointId);
    if (progress === undefined || (this.averageMs.get(endpointId) ?? 0) >= FAST_MS) return 0;
    return Math.max(0, Math.min(progress + FAST_MS, deadline) - now);
  }

  /**
   * Resolves when the delivery may ask the gate, and counts it as this process's from then on (`admitted` and
   * `leave`, or `held`, follow): at once, or once the process is below its share of a fast endpoint's cap, or after
   * the longest wait, or at the delivery's `deadline` (a delivery asked again after a refusal does not wait anew).
   */
  async turn(endpointId: string, cap: number, now = Date.now(), deadline = Infinity): Promise<void> {
    const count = this.inFlight.get(endpointId) ?? 0;
    const share = this.shareOf(endpointId, cap);
    const waitMs = Math.min((this.progressAt.get(endpointId) ?? now) + FAST_MS, deadline) - now;
    if (count >= share && waitMs > 0 && (this.averageMs.get(endpointId) ?? 0) < FAST_MS) await this.wait(endpointId, waitMs);
    if (!this.inFlight.has(endpointId)) this.progressAt.set(endpointId, Date.now());
    this.inFlight.set(endpointId, (this.inFlight.get(endpointId) ?? 0) + 1);
    this.idleSince.delete(endpointId);
    if (Date.now() - this.sweptAt >= SWEEP_EVERY_MS) this.forgetIdle(Date.now());
  }

  /** Forgets the endpoints with nothing in flight here for FORGET_IDLE_MS (deleted ones among them). */
  private forgetIdle(now: number): void {
    this.sweptAt = now;
    for (const [endpointId, since] of this.idleSince) {
      if (now - since < FORGET_IDLE_MS) continue;
      this.idleSince.delete(endpointId);
      for (const map of [this.share, this.averageMs, this.gateCap]) map.delete(endpointId);
      this.holding.delete(endpointId);
    }
  }

  /** How many endpoints this process keeps anything of (for tests). */
  get known(): number {
    return new Set([...this.inFlight.keys(), ...this.share.keys(), ...this.averageMs.keys(), ...this.gateCap.keys(), ...this.holding]).size;
  }

  /**
   * The gate admitted the delivery, with `inFlight` of the endpoint's attempts in flight in all processes: the
   * process's share is what it has plus the slots still free.
   */
  admitted(endpointId: string, cap: number, inFlight: number): void {
    this.holding.delete(endpointId);
    this.gateCap.set(endpointId, cap);
    const share = (this.inFlight.get(endpointId) ?? 1) + Math.max(0, cap - inFlight);
    if (share < cap) this.share.set(endpointId, share);
    else this.share.delete(endpointId);
  }

  /**
   * The gate held or refused the delivery; `forSlot`: for want of a slot (not a pause, rate window or open circuit).
   * Then what the process has in flight is its share for now: the other processes have the rest of the cap.
   */
  held(endpointId: string, forSlot: boolean, given: number): void {
    this.holding.add(endpointId);
    const cap = this.capOf(endpointId, given);
    if (forSlot) this.share.set(endpointId, Math.max(1, Math.min(cap, (this.inFlight.get(endpointId) ?? 1) - 1)));
    this.leave(endpointId, undefined);
  }

  /**
   * The delivery is no longer this process's: its slot was given back (`durationMs`: how long the receiver took,
   * when it was sent), or it never got one. The first waiter for this endpoint goes on.
   */
  leave(endpointId: string, durationMs: number | undefined): void {
    const left = (this.inFlight.get(endpointId) ?? 1) - 1;
    if (left > 0) {
      this.inFlight.set(endpointId, left);
      // An answer is progress; a delivery that never got a slot (held) or sent nothing is not.
      if (durationMs !== undefined) this.progressAt.set(endpointId, Date.now());
    } else {
      this.inFlight.delete(endpointId);
      this.progressAt.delete(endpointId);
      this.idleSince.set(endpointId, Date.now());
    }
    if (durationMs !== undefined && durationMs > 0) {
      const average = this.averageMs.get(endpointId);
      this.averageMs.set(endpointId, average === undefined ? durationMs : average + EWMA_WEIGHT * (durationMs - average));
    }
    this.waiters.get(endpointId)?.[0]?.();
  }

  private wait(endpointId: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const queue = this.waiters.get(endpointId) ?? [];
      this.waiters.set(endpointId, queue);
      const done = () => {
        clearTimeout(timer);
        const i = queue.indexOf(done);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0 && this.waiters.get(endpointId) === queue) this.waiters.delete(endpointId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      queue.push(done);
    });
  }
}
