-- snapshot. KEYS: meta, windows, reservations, leases. ARGV: now_ms, day, month.
-- Reply: {paused '0'|'1', total spent, total reserved, month spent, month reserved, day spent,
--         day reserved} | {'corrupt', id}
local meta, windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, day, month = ARGV[1], ARGV[2], ARGV[3]

local swept = sweep(windows, reservations, leases, now)
if swept then return swept end

local values = redis.call('HMGET', windows, unpack(fields_of(day, month)))
local reply = {redis.call('HGET', meta, 'paused') == '1' and '1' or '0'}
for i = 1, 6 do reply[i + 1] = values[i] or '0' end
return reply
