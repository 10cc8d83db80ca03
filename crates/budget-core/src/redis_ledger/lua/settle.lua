-- settle (release = settle with 0). KEYS: ledger, leases. ARGV: now_ms, id, actual, and the
-- day and month the caller's reservation was made in (its record is what counts; they only let
-- the common case read everything in one HMGET).
-- Reply: {'ok', charged, '0'|'1' (expired), total spent, total reserved, month spent, month
--         reserved, day spent, day reserved (as this settlement leaves them), '0'|'1' (paused)}
--      | {'unknown'} | {'overflow', window} | {'corrupt', id}
local ledger, leases = KEYS[1], KEYS[2]
local now, id, actual = ARGV[1], ARGV[2], ARGV[3]
local record = 'r:' .. id

-- values: due, the record, the pause flag, then the six window fields.
local asked = fields_of(ARGV[4], ARGV[5])
local values, refused = read(ledger, leases, now, {'due', record, 'paused', unpack(asked)})
if refused then return refused end
if not values[2] then return {'unknown'} end
local state, amount, day, month = decode(values[2])
if not state then return {'corrupt', id} end
local fields = fields_of(day, month)
if day ~= ARGV[4] or month ~= ARGV[5] then
  values = redis.call('HMGET', ledger, 'due', record, 'paused', unpack(fields))
end

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

local bh, bl = add(MAX_HI, MAX_LO, fh, fl)
local set, unset = {}, {record}
local reply = {'ok', str(ch, cl), expired}
for w = 1, 3 do
  local sh, sl = num(values[2 * w + 2])
  local reserved = values[2 * w + 3] or '0'
  local rh, rl = num(reserved)
  sh, sl = add(sh, sl, ch, cl)
  local th, tl = add(sh, sl, rh, rl)
  if gt(th, tl, bh, bl) then return {'overflow', WINDOW_NAMES[w]} end
  reply[2 * w + 2] = str(sh, sl)
  if charges then
    set[#set + 1] = fields[2 * w - 1]
    set[#set + 1] = reply[2 * w + 2]
  end
  if frees then
    reserved = minus(rh, rl, mh, ml)
    if reserved == '0' then
      unset[#unset + 1] = fields[2 * w]
    else
      set[#set + 1] = fields[2 * w]
      set[#set + 1] = reserved
    end
  end
  -- A damaged window reserving less than its reservations is shown as reserving nothing.
  reply[2 * w + 3] = sub_string(reserved, 1, 1) == '-' and '0' or reserved
end
reply[10] = values[3] == '1' and '1' or '0'

if #set > 0 then redis.call('HSET', ledger, unpack(set)) end
redis.call('HDEL', ledger, unpack(unset))
redis.call('ZREM', leases, id)
return reply
