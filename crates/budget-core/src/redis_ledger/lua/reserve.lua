-- reserve. KEYS: ledger, leases. ARGV: now_ms, amount, day, month, expires_ms,
-- mode ('hard'|'soft'), limit total, monthly, daily ('' = none).
-- Reply: {'ok', id, total spent, total reserved, month spent, month reserved, day spent,
--         day reserved (as this reservation leaves them) [, exceeded window, spent, reserved,
--         limit]} | {'paused'}
--      | {'exceeded', window, spent, reserved, limit} | {'overflow', window} | {'corrupt', id}
local ledger, leases = KEYS[1], KEYS[2]
local now, amount, day, month, expires, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local fields = fields_of(day, month)
-- values: due, paused, next_id, then the six window fields.
local values, refused = read(ledger, leases, now, {'due', 'paused', 'next_id', unpack(fields)})
if refused then return refused end
if values[2] == '1' then return {'paused'} end

local ah, al = num(amount)
local exceeded = nil
local set = {}
local after = {}
for w = 1, 3 do
  local spent, reserved = values[2 * w + 2] or '0', values[2 * w + 3] or '0'
  local sh, sl = num(spent)
  local rh, rl = num(reserved)
  rh, rl = add(rh, rl, ah, al)
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
  after[2 * w - 1] = spent
  after[2 * w] = str(rh, rl)
  if ah ~= 0 or al ~= 0 then
    set[#set + 1] = fields[2 * w]
    set[#set + 1] = after[2 * w]
  end
end

local id = tostring((tonumber(values[3]) or 0) + 1)
set[#set + 1] = 'next_id'
set[#set + 1] = id
set[#set + 1] = 'r:' .. id
set[#set + 1] = encode('a', str(ah, al), day, month, expires)
if not values[1] or tonumber(expires) < tonumber(values[1]) then
  set[#set + 1] = 'due'
  set[#set + 1] = expires
end
redis.call('HSET', ledger, unpack(set))
redis.call('ZADD', leases, expires, id)
local reply = {'ok', id, unpack(after)}
if exceeded then
  for i = 1, 4 do reply[8 + i] = exceeded[i] end
end
return reply
