-- reset. KEYS: windows, reservations, leases. Reply: {'ok'}.
-- spent := 0 everywhere (spent fields are dropped: absent = 0); reserved amounts of active
-- reservations stay (those calls are still in flight); expired records are forgotten.
local windows, reservations, leases = KEYS[1], KEYS[2], KEYS[3]

local fields = redis.call('HGETALL', windows)
for i = 1, #fields, 2 do
  if string.sub(fields[i], -2) == ':s' or fields[i + 1] == '0' then
    redis.call('HDEL', windows, fields[i])
  end
end
local records = redis.call('HGETALL', reservations)
for i = 1, #records, 2 do
  if string.sub(records[i + 1], 1, 1) ~= 'a' then
    redis.call('HDEL', reservations, records[i])
    redis.call('ZREM', leases, records[i])
  end
end
return {'ok'}
