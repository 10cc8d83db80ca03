-- reset. KEYS: ledger, leases. Reply: {'ok'}.
-- spent := 0 everywhere (spent fields are dropped: absent = 0); reserved amounts of active
-- reservations stay (those calls are still in flight); expired records are forgotten. `due`
-- stays: it is a lower bound, and forgetting records never makes it wrong.
local ledger, leases = KEYS[1], KEYS[2]

local all = redis.call('HGETALL', ledger)
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  if string.sub(field, 1, 2) == 'r:' then
    if string.sub(value, 1, 1) ~= 'a' then
      redis.call('HDEL', ledger, field)
      redis.call('ZREM', leases, string.sub(field, 3))
    end
  else
    local suffix = string.sub(field, -2)
    if suffix == ':s' or (suffix == ':r' and value == '0') then
      redis.call('HDEL', ledger, field)
    end
  end
end
return {'ok'}
