-- record. KEYS: windows, reservations, leases. ARGV: now_ms, amount, day, month.
-- Reply: {'ok', total spent, total reserved, month spent, month reserved, day spent, day reserved}
--      | {'overflow', window} | {'corrupt', id}
local windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3]
local now, amount, day, month = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end

local fields = fields_of(day, month)
local values = redis.call('HMGET', windows, unpack(fields))
local ah, al = num(amount)
local reply = {'ok'}
for w = 1, 3 do
  local sh, sl = num(values[2 * w - 1])
  local reserved = values[2 * w] or '0'
  local rh, rl = num(reserved)
  sh, sl = add(sh, sl, ah, al)
  local th, tl = add(sh, sl, rh, rl)
  if gt(th, tl, MAX_HI, MAX_LO) then return {'overflow', WINDOW_NAMES[w]} end
  reply[2 * w] = str(sh, sl)
  reply[2 * w + 1] = reserved
end

if ah ~= 0 or al ~= 0 then
  redis.call('HSET', windows, fields[1], reply[2], fields[3], reply[4], fields[5], reply[6])
end
return reply
