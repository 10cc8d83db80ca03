-- reserve. KEYS: meta, windows, reservations, leases.
-- ARGV: now_ms, amount, day, month, expires_ms, mode ('hard'|'soft'), limit total, monthly, daily ('' = none).
-- Reply: {'ok', id [, exceeded window, spent, reserved, limit]} | {'paused'}
--      | {'exceeded', window, spent, reserved, limit} | {'overflow', window} | {'corrupt', id}
local meta, windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, amount, day, month, expires, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end
if redis.call('HGET', meta, 'paused') == '1' then return {'paused'} end

local fields = fields_of(day, month)
local values = redis.call('HMGET', windows, unpack(fields))
local ah, al = num(amount)
local exceeded = nil
for w = 1, 3 do
  local spent, reserved = values[2 * w - 1] or '0', values[2 * w] or '0'
  local sh, sl = num(spent)
  local rh, rl = num(reserved)
  rh, rl = add(rh, rl, ah, al)
  values[2 * w] = str(rh, rl)
  local ch, cl = add(sh, sl, rh, rl)
  local limit = ARGV[6 + w]
  if limit ~= '' then
    local lh, ll = num(limit)
    if gt(ch, cl, lh, ll) then
      if mode == 'hard' then return {'exceeded', WINDOW_NAMES[w], spent, reserved, limit} end
      exceeded = exceeded or {WINDOW_NAMES[w], spent, reserved, limit}
    end
  end
  if gt(ch, cl, MAX_HI, MAX_LO) then return {'overflow', WINDOW_NAMES[w]} end
end

if ah ~= 0 or al ~= 0 then
  redis.call('HSET', windows, fields[2], values[2], fields[4], values[4], fields[6], values[6])
end
local id = tostring(redis.call('HINCRBY', meta, 'next_id', 1))
redis.call('HSET', reservations, id, encode('a', str(ah, al), day, month, expires))
redis.call('ZADD', leases, expires, id)
if exceeded then return {'ok', id, exceeded[1], exceeded[2], exceeded[3], exceeded[4]} end
return {'ok', id}
