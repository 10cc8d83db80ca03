-- record. KEYS: windows, reservations, leases. ARGV: now_ms, amount, day, month.
-- Reply: {'ok', total spent, total reserved, month spent, month reserved, day spent, day reserved}
--      | {'overflow', window} | {'corrupt', id}
local windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3]
local now, amount, day, month = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end

local amt = big(amount)
local ws = windows_of(day, month)
local reply = {'ok'}
for _, w in ipairs(ws) do
  local spent, reserved = read(windows, w[2])
  local new_spent = add(big(spent), amt)
  if gt(add(new_spent, big(reserved)), MAX) then return {'overflow', w[1]} end
  table.insert(reply, str(new_spent))
  table.insert(reply, reserved)
end

local amount_s = str(amt)
for _, w in ipairs(ws) do incr(windows, w[2] .. ':s', amount_s) end
return reply
