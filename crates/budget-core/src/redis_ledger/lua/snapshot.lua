-- snapshot. KEYS: ledger, leases. ARGV: now_ms, day, month.
-- Reply: {paused '0'|'1', total spent, total reserved, month spent, month reserved, day spent,
--         day reserved} | {'corrupt', id}
local ledger, leases = KEYS[1], KEYS[2]
local now, day, month = ARGV[1], ARGV[2], ARGV[3]

-- values: due, paused, then the six window fields.
local values, refused = read(ledger, leases, now, {'due', 'paused', unpack(fields_of(day, month))})
if refused then return refused end
local reply = {values[2] == '1' and '1' or '0'}
for i = 1, 6 do reply[i + 1] = values[i + 2] or '0' end
return reply
