-- reset. KEYS: ledger. Reply: {'ok'}.
-- spent := 0 everywhere (spent fields are dropped: absent = 0); reserved amounts of active
-- reservations stay (those calls are still in flight); expired records are forgotten. `due`
-- stays: it is a lower bound, and forgetting records never makes it wrong.
local ledger = KEYS[1]

local all = redis.call('HGETALL', ledger)
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  local forget
  if string.sub(field, 1, 2) == 'r:' then
    forget = string.sub(value, 1, 1) ~= 'a'
  else
    local suffix = string.sub(field, -2)
    forget = suffix == ':s' or (suffix == ':r' and value == '0')
  end
  if forget then redis.call('HDEL', ledger, field) end
end
return {'ok'}
