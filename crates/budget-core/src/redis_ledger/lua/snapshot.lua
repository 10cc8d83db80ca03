-- snapshot. KEYS: meta, windows, reservations, leases. ARGV: now_ms, day, month.
-- Reply: {paused '0'|'1', total spent, total reserved, month spent, month reserved, day spent,
--         day reserved} | {'corrupt', id}
local meta, windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, day, month = ARGV[1], ARGV[2], ARGV[3]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end

local reply = {redis.call('HGET', meta, 'paused') == '1' and '1' or '0'}
for _, w in ipairs(windows_of(day, month)) do
  local spent, reserved = read(windows, w[2])
  table.insert(reply, spent)
  table.insert(reply, reserved)
end
return reply
