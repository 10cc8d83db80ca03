-- reset. KEYS: ledger, leases. Reply: {'ok'} | {'corrupt', id}.
-- spent := 0 everywhere (spent fields are dropped: absent = 0); reserved amounts of active
-- reservations stay (those calls are still in flight). Expired records stay too, and so does
-- their lease charge: such a call may still settle late, and it must count once in the fresh
-- windows, like an active one. `due` stays: the records and their leases are unchanged.
local ledger, leases = KEYS[1], KEYS[2]

local all = redis.call('HGETALL', ledger)
local dropped, charges = {}, {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  if string.sub(field, 1, 2) == 'r:' then
    if string.sub(value, 1, 1) ~= 'a' then
      -- Read and validated before anything is written: a corrupt record changes nothing.
      local state, amount, day, month = decode(value)
      if not state then return {'corrupt', string.sub(field, 3)} end
      if amount ~= '0' then charges[#charges + 1] = {amount, fields_of(day, month)} end
    end
  else
    local suffix = string.sub(field, -2)
    if suffix == ':s' or (suffix == ':r' and value == '0') then
      dropped[#dropped + 1] = field
    end
  end
end
for _, field in ipairs(dropped) do redis.call('HDEL', ledger, field) end
-- HINCRBY adds the decimal strings as exact 64-bit integers; their sum is at most what was
-- spent before the reset, so it fits.
for _, charge in ipairs(charges) do
  local amount, f = charge[1], charge[2]
  for w = 1, 5, 2 do redis.call('HINCRBY', ledger, f[w], amount) end
end
return {'ok'}
