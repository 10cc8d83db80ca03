-- record. KEYS: ledger, leases. ARGV: now_ms, amount, day, month.
-- Reply: {'ok', total spent, total reserved, month spent, month reserved, day spent, day reserved}
--      | {'overflow', window} | {'corrupt', id}
local ledger, leases = KEYS[1], KEYS[2]
local now, amount, day, month = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local fields = fields_of(day, month)
-- values: due, then the six window fields.
local values, refused = read(ledger, leases, now, {'due', unpack(fields)})
if refused then return refused end
local ah, al = num(amount)
local reply = {'ok'}
for w = 1, 3 do
  local sh, sl = num(values[2 * w])
  local reserved = values[2 * w + 1] or '0'
  local rh, rl = num(reserved)
  sh, sl = add(sh, sl, ah, al)
  local th, tl = add(sh, sl, rh, rl)
  if gt(th, tl, MAX_HI, MAX_LO) then return {'overflow', WINDOW_NAMES[w]} end
  reply[2 * w] = str(sh, sl)
  reply[2 * w + 1] = reserved
end

if ah ~= 0 or al ~= 0 then
  redis.call('HSET', ledger, fields[1], reply[2], fields[3], reply[4], fields[5], reply[6])
end
return reply
