-- settle (release = settle with 0). KEYS: windows, reservations, leases. ARGV: now_ms, id, actual.
-- Reply: {'ok', charged, '0'|'1' (expired)} | {'unknown'} | {'overflow', window} | {'corrupt', id}
local windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3]
local now, id, actual = ARGV[1], ARGV[2], ARGV[3]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end
local rec = redis.call('HGET', reservations, id)
if not rec then return {'unknown'} end
local state, amount, day, month = decode(rec)
if not state then return {'corrupt', id} end

local mh, ml = num(amount)
local xh, xl = num(actual)
-- Active: reserved -= amount, spent += actual. Expired: the lease already charged amount, so
-- only what the actual cost exceeds it by is still owed.
local active = state == 'a'
local ch, cl, fh, fl, expired = xh, xl, mh, ml, '0'
if not active then
  ch, cl, fh, fl, expired = 0, 0, 0, 0, '1'
  if gt(xh, xl, mh, ml) then ch, cl = sub(xh, xl, mh, ml) end
end
local charges = ch ~= 0 or cl ~= 0
local frees = active and (mh ~= 0 or ml ~= 0)

local fields = fields_of(day, month)
local values = redis.call('HMGET', windows, unpack(fields))
local bh, bl = add(MAX_HI, MAX_LO, fh, fl)
local set, unset = {}, {}
for w = 1, 3 do
  local sh, sl = num(values[2 * w - 1])
  local rh, rl = num(values[2 * w])
  sh, sl = add(sh, sl, ch, cl)
  local th, tl = add(sh, sl, rh, rl)
  if gt(th, tl, bh, bl) then return {'overflow', WINDOW_NAMES[w]} end
  if charges then
    set[#set + 1] = fields[2 * w - 1]
    set[#set + 1] = str(sh, sl)
  end
  if frees then
    local left = minus(rh, rl, mh, ml)
    if left == '0' then
      unset[#unset + 1] = fields[2 * w]
    else
      set[#set + 1] = fields[2 * w]
      set[#set + 1] = left
    end
  end
end

if #set > 0 then redis.call('HSET', windows, unpack(set)) end
if #unset > 0 then redis.call('HDEL', windows, unpack(unset)) end
redis.call('HDEL', reservations, id)
redis.call('ZREM', leases, id)
return {'ok', str(ch, cl), expired}
