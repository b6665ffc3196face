/**
 * The endpoint gate's Lua scripts (see `EndpointGate`). Acquire and release are written once, as bodies over `K`
 * (their keys) and `A` (their arguments): run alone, with the call's KEYS and ARGV; or many calls in one script
 * (`GATE_MANY`), each with its own slice of them, so that concurrent attempts share one round trip to Redis.
 */

/** Keys and arguments of one acquire, and of one release. */
export const ACQUIRE_KEYS = 6;
export const ACQUIRE_ARGS = 13;
export const RELEASE_KEYS = 6;
export const RELEASE_ARGS = 13;

/**
 * The cap in force: a positive one as given; a negative one is the default, half of all live worker slots as the
 * worker processes announce them (see WorkerFleet), read here so that every process applies the same cap at the
 * same moment, or its absolute value (the caller's own estimate) when no announcement is known.
 */
const CAP_OF = `
local function capOf(given, slotsKey)
  if given > 0 then return given end
  local slots = tonumber(redis.call('GET', slotsKey) or '')
  if slots and slots > 0 then return math.ceil(slots / 2) end
  return -given
end
-- Slots free under the cap; the leases of dead workers end here.
local function freeSlots(inflightKey, cap, now)
  redis.call('ZREMRANGEBYSCORE', inflightKey, '-inf', now)
  return cap - redis.call('ZCARD', inflightKey)
end
-- When the first lease of the endpoint's attempts in flight ends (a slot frees then at the latest, its worker dead).
local function firstLeaseEnd(inflightKey)
  local first = redis.call('ZRANGE', inflightKey, 0, 0, 'WITHSCORES')
  return first[2] and tonumber(first[2]) or 0
end
`;

// Both keep the common case short (a few commands): no pause, closed circuit, under the cap, nothing held.
const ACQUIRE_BODY = `${CAP_OF}
local inflight, held, state, rate, heldIndex = K[1], K[2], K[3], K[4], K[5]
local now, token, lease, cap = tonumber(A[1]), A[2], tonumber(A[3]), capOf(tonumber(A[4]), K[6])
local rateMax, ratePer, member, job, released = tonumber(A[5]), tonumber(A[6]), A[7], A[8], A[9] == '1'
local payload, payloadsMax, park = A[11], tonumber(A[12]), A[13] ~= '0'
local function hold(wake)
  -- Asked not to park (the worker waits in its process for a slot and asks again): no trace of the attempt is
  -- kept. A timed wait (pause, rate window, circuit backoff) is parked all the same: no slot will end it.
  if not park and wake == 0 then return {0, 0, 0} end
  if released then
    -- Put back but not admitted: due again at once (not parked behind its in-transit mark).
    redis.call('ZADD', held, now, member)
  else
    redis.call('ZADD', held, 'NX', now, member)
  end
  redis.call('HSET', held .. ':jobs', member, job)
  -- Counts the holds of this attempt: each put-back of one hold is the same job (see deliveryJobId).
  redis.call('HINCRBY', held .. ':holds', member, 1)
  -- The first held jobs of an endpoint keep their payload (no read-back when they go); a long backlog does not.
  if payload ~= '' and redis.call('HLEN', held .. ':payloads') < payloadsMax then
    redis.call('HSET', held .. ':payloads', member, payload)
  end
  redis.call('SADD', heldIndex, A[10])
  return {0, wake, 1}
end
-- Newcomers queue behind held deliveries that are waiting for a slot, so those are not overtaken. Held deliveries
-- already put back (in transit, scored in the future) do not count: a burst must not leave the endpoint holding
-- every later delivery while slots are free.
local heldCount = redis.call('ZCARD', held)
local inHeld = heldCount > 0 and redis.call('ZSCORE', held, member)
if not released and heldCount > 0 and not inHeld and redis.call('ZCOUNT', held, '-inf', now) > 0 then return hold(0) end
local s = redis.call('HMGET', state, 'pausedUntil', 'circuit', 'retryAt', 'probe')
local paused, circuit = tonumber(s[1] or '0'), s[2]
if paused > now then return hold(paused) end
if rateMax > 0 then
  redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - ratePer)
  if redis.call('ZCARD', rate) >= rateMax then
    local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
    return hold(tonumber(oldest[2]) + ratePer)
  end
end
-- At the cap: no attempt goes, a probe neither (attempts that began before the circuit opened may still run, and
-- the cap may have been lowered since). Lapsed leases are looked for only when the count says full.
local function full()
  return redis.call('ZCARD', inflight) >= cap and freeSlots(inflight, cap, now) <= 0
end
if circuit == 'open' then
  local retryAt = tonumber(s[3] or '0')
  if retryAt > now then return hold(retryAt) end
  -- Few ask while the circuit is open: a wake-up when the first lease ends lets the probe go even if none does.
  if full() then return hold(firstLeaseEnd(inflight)) end
  redis.call('HSET', state, 'circuit', 'half-open', 'probe', token)
elseif circuit == 'half-open' then
  -- The probe in flight holds the others back, until its lease lapses (its worker died): then another goes.
  local probeLease = s[4] and redis.call('ZSCORE', inflight, s[4])
  if probeLease and tonumber(probeLease) > now then return hold(0) end
  if probeLease then redis.call('ZREM', inflight, s[4]) end
  if full() then return hold(firstLeaseEnd(inflight)) end
  redis.call('HSET', state, 'probe', token)
elseif full() then
  return hold(0)
end
if rateMax > 0 then
  redis.call('ZADD', rate, now, token)
  redis.call('PEXPIRE', rate, ratePer + 1000)
end
redis.call('ZADD', inflight, lease, token)
if inHeld and redis.call('ZREM', held, member) == 1 then
  redis.call('HDEL', held .. ':jobs', member)
  redis.call('HDEL', held .. ':payloads', member)
  redis.call('HDEL', held .. ':holds', member)
  if redis.call('ZCARD', held) == 0 then redis.call('SREM', heldIndex, A[10]) end
end
-- The endpoint's attempts in flight now, in all processes, and its cap: a process takes the free ones as its share.
return {1, 0, 0, redis.call('ZCARD', inflight), cap}
`;

const RELEASE_BODY = `${CAP_OF}
local inflight, held, state, heldIndex, rate = K[1], K[2], K[3], K[4], K[6]
local now, token, kind, pauseUntil = tonumber(A[1]), A[2], A[3], tonumber(A[4])
local cap, threshold, baseMs, maxMs = capOf(tonumber(A[5]), K[5]), tonumber(A[6]), tonumber(A[7]), tonumber(A[8])
local rateMax, ratePer = tonumber(A[12]), tonumber(A[13])
if token ~= '' then redis.call('ZREM', inflight, token) end
-- A held job that will not pass the gate (its endpoint was disabled) leaves the held set, its data with it.
local dropped = A[11]
if dropped ~= '' then
  redis.call('ZREM', held, dropped)
  redis.call('HDEL', held .. ':jobs', dropped)
  redis.call('HDEL', held .. ':payloads', dropped)
  redis.call('HDEL', held .. ':holds', dropped)
end
local s = redis.call('HMGET', state, 'circuit', 'probe', 'unreachable', 'pausedUntil', 'backoff', 'retryAt')
local circuit, unreachable, paused = s[1], tonumber(s[3] or '0'), tonumber(s[4] or '0')
local isProbe = token ~= '' and s[2] == token
if kind == 'answered' then
  if unreachable > 0 then redis.call('HSET', state, 'unreachable', 0) end
  if circuit then redis.call('HDEL', state, 'circuit', 'probe', 'backoff', 'retryAt', 'openedAt') circuit = false end
  if pauseUntil > now and pauseUntil > paused then
    redis.call('HSET', state, 'pausedUntil', pauseUntil)
    paused = pauseUntil
  end
elseif kind == 'unreachable' then
  unreachable = redis.call('HINCRBY', state, 'unreachable', 1)
  if isProbe then
    local backoff = math.min(tonumber(s[5] or baseMs) * 2, maxMs)
    redis.call('HSET', state, 'circuit', 'open', 'backoff', backoff, 'retryAt', now + backoff)
    -- A circuit opened by a version that kept no openedAt counts from its first failed probe seen here.
    redis.call('HSETNX', state, 'openedAt', now)
    redis.call('HDEL', state, 'probe')
    circuit, s[6] = 'open', now + backoff
  elseif threshold > 0 and unreachable >= threshold and not circuit then
    -- openedAt stays through probes that fail, until an answer closes the circuit: how long it has been unreachable.
    redis.call('HSET', state, 'circuit', 'open', 'backoff', baseMs, 'retryAt', now + baseMs, 'openedAt', now)
    circuit, s[6] = 'open', now + baseMs
  end
elseif isProbe then
  -- The probe sent nothing: let the next held delivery probe.
  redis.call('HDEL', state, 'probe')
end
-- Which held jobs may go back to the queue now, and when to look again if none may.
if paused > now then return {paused} end
if paused > 0 then redis.call('HDEL', state, 'pausedUntil') end
if redis.call('ZCARD', held) == 0 then
  -- The relay's and wake-ups' calls (no token) keep the index of holding endpoints exact.
  if token == '' then redis.call('SREM', heldIndex, A[9]) end
  return {0}
end
-- A probe needs a free slot like any attempt.
local free
if circuit == 'open' then
  local retryAt = tonumber(s[6] or '0')
  if retryAt > now then return {retryAt} end
  free = math.min(1, freeSlots(inflight, cap, now))
  if free <= 0 then return {firstLeaseEnd(inflight)} end
elseif circuit == 'half-open' then
  -- The probe in flight holds the others back until its lease lapses (its worker died, or its release never came):
  -- then one held job goes to probe instead. Otherwise nothing would ever let it go (every newcomer is held).
  local current = redis.call('HGET', state, 'probe')
  local probeLease = current and redis.call('ZSCORE', inflight, current)
  if probeLease and tonumber(probeLease) > now then return {0} end
  if probeLease then redis.call('ZREM', inflight, current) end
  free = math.min(1, freeSlots(inflight, cap, now))
  if free <= 0 then return {firstLeaseEnd(inflight)} end
else
  free = freeSlots(inflight, cap, now)
  -- No more than the rate window lets through: the others would only be held again, each a queue job for nothing.
  if free > 0 and rateMax > 0 then
    redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - ratePer)
    local left = rateMax - redis.call('ZCARD', rate)
    if left <= 0 then
      local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
      return {tonumber(oldest[2]) + ratePer}
    end
    free = math.min(free, left)
  end
end
if free <= 0 then return {0} end
-- Released jobs stay in the held set, marked in transit until transitMs from now, and leave it when admitted: a
-- releaser that dies before re-adding them loses nothing, and a job in transit is not released twice meanwhile.
local members = redis.call('ZRANGEBYSCORE', held, '-inf', now, 'LIMIT', 0, free)
local out = {0}
for _, m in ipairs(members) do
  local job = redis.call('HGET', held .. ':jobs', m)
  if job then
    table.insert(out, job)
    table.insert(out, redis.call('HGET', held .. ':payloads', m) or '')
    table.insert(out, redis.call('HGET', held .. ':holds', m) or '')
    redis.call('ZADD', held, 'XX', now + tonumber(A[10]), m)
  else
    redis.call('ZREM', held, m)
    redis.call('HDEL', held .. ':payloads', m)
    redis.call('HDEL', held .. ':holds', m)
  end
end
return out
`;

export const ACQUIRE = `local K, A = KEYS, ARGV
${ACQUIRE_BODY}`;

export const RELEASE = `local K, A = KEYS, ARGV
${RELEASE_BODY}`;

/**
 * Many acquires and releases, in order, each as if run alone (an error stops the script where it is: the calls
 * before it stay done, and each call may be run again, since a call's token makes it idempotent). ARGV[1] holds
 * the calls' kinds, one letter each ('a' acquire, 'r' release); then come the calls' arguments, and KEYS holds
 * their keys, in the same order. Answers one answer per call.
 */
export const GATE_MANY = `
local function acquire(K, A)
${ACQUIRE_BODY}
end
local function release(K, A)
${RELEASE_BODY}
end
local kinds = ARGV[1]
local out = {}
local k, a = 0, 1
for i = 1, #kinds do
  local isAcquire = string.sub(kinds, i, i) == 'a'
  local nk, na = ${RELEASE_KEYS}, ${RELEASE_ARGS}
  if isAcquire then nk, na = ${ACQUIRE_KEYS}, ${ACQUIRE_ARGS} end
  local K, A = {}, {}
  for j = 1, nk do K[j] = KEYS[k + j] end
  for j = 1, na do A[j] = ARGV[a + j] end
  k, a = k + nk, a + na
  if isAcquire then out[i] = acquire(K, A) else out[i] = release(K, A) end
end
return out
`;

export const STATUS = `
local out = {}
local now = tonumber(ARGV[1])
for i = 1, #KEYS, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local s = redis.call('HMGET', KEYS[i + 2], 'circuit', 'retryAt', 'pausedUntil', 'unreachable', 'openedAt')
  table.insert(out, {redis.call('ZCARD', KEYS[i]), redis.call('ZCARD', KEYS[i + 1]), s[1] or '', s[2] or '', s[3] or '', s[4] or '', s[5] or ''})
end
return out
`;
