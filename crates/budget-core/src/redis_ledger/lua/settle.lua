-- settle (release = settle with 0). KEYS: windows, reservations, leases. ARGV: now_ms, id, actual.
-- Reply: {'ok', charged, '0'|'1' (expired)} | {'unknown'} | {'overflow', window} | {'corrupt', id}
local windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3]
local now, id, actual = ARGV[1], ARGV[2], ARGV[3]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end
local rec = redis.call('HGET', reservations, id)
if not rec then return {'unknown'} end
local r = decode(rec)
if not r then return {'corrupt', id} end

local amt, act = big(r.amount), big(actual)
local ws = windows_of(r.day, r.month)
-- Active: reserved -= amount, spent += actual. Expired: the lease already charged amount, so
-- only what the actual cost exceeds it by is still owed.
local charged, freed, expired = act, amt, '0'
if r.state == 'e' then
  charged, freed, expired = ZERO, ZERO, '1'
  if gt(act, amt) then charged = sub(act, amt) end
end
for _, w in ipairs(ws) do
  local spent, reserved = read(windows, w[2])
  if gt(add(add(big(spent), charged), big(reserved)), add(MAX, freed)) then
    return {'overflow', w[1]}
  end
end

local charged_s = str(charged)
for _, w in ipairs(ws) do
  if r.state == 'a' then decr(windows, w[2] .. ':r', r.amount) end
  incr(windows, w[2] .. ':s', charged_s)
end
redis.call('HDEL', reservations, id)
redis.call('ZREM', leases, id)
return {'ok', charged_s, expired}
