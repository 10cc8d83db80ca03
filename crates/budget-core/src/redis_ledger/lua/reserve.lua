-- reserve. KEYS: meta, windows, reservations, leases.
-- ARGV: now_ms, amount, day, month, expires_ms, mode ('hard'|'soft'), limit total, monthly, daily ('' = none).
-- Reply: {'ok', id [, exceeded window, spent, reserved, limit]} | {'paused'}
--      | {'exceeded', window, spent, reserved, limit} | {'overflow', window} | {'corrupt', id}
local meta, windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, amount, day, month, expires, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end
if redis.call('HGET', meta, 'paused') == '1' then return {'paused'} end

local amt = big(amount)
local exceeded = nil
local ws = windows_of(day, month)
for i, w in ipairs(ws) do
  local spent, reserved = read(windows, w[2])
  local committed = add(add(big(spent), big(reserved)), amt)
  local limit = ARGV[6 + i]
  if limit ~= '' and gt(committed, big(limit)) then
    if mode == 'hard' then return {'exceeded', w[1], spent, reserved, limit} end
    exceeded = exceeded or {w[1], spent, reserved, limit}
  end
  if gt(committed, MAX) then return {'overflow', w[1]} end
end

for _, w in ipairs(ws) do incr(windows, w[2] .. ':r', amount) end
local id = tostring(redis.call('HINCRBY', meta, 'next_id', 1))
redis.call('HSET', reservations, id, encode('a', str(amt), day, month, expires))
redis.call('ZADD', leases, expires, id)
if exceeded then return {'ok', id, exceeded[1], exceeded[2], exceeded[3], exceeded[4]} end
return {'ok', id}
