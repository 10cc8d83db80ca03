-- The ledger hash, the reservation records in it and the lease sweep, for the scripts that
-- touch the windows (`RETENTION_MS` is defined above).
--
-- A budget is one hash, so a script reads everything it needs with one HMGET and writes with
-- one HSET (and one HDEL):
--   paused        '1' while paused (absent otherwise)
--   next_id       the last reservation id handed out
--   due           the earliest score in the leases set, or earlier; absent when it is empty
--   total:s|r, m:<YYYY-MM>:s|r, d:<YYYY-MM-DD>:s|r
--                 spent and reserved nano-cents per window (absent = 0)
--   r:<id>        a reservation record (`encode`)
-- and a sorted set, the leases, scores each record's id by when it next needs the sweep: its
-- lease expiry while active, its purge time once expired.

-- Limit names in the order they are checked, each with its spent and reserved fields in
-- `fields_of` (total, month, day).
local WINDOW_NAMES = {'total', 'monthly', 'daily'}

-- The six window fields of one day and month, in HMGET order: spent, reserved per window.
local function fields_of(day, month)
  local m, d = 'm:' .. month, 'd:' .. day
  return {'total:s', 'total:r', m .. ':s', m .. ':r', d .. ':s', d .. ':r'}
end

-- A reservation record: 'a' (active) or 'e' (expired, already charged by its lease).
local function encode(state, amount, day, month, expires)
  return state .. '|' .. amount .. '|' .. day .. '|' .. month .. '|' .. expires
end

-- state, amount, day, month, expires of a record; nil when it cannot be parsed.
local function decode(rec)
  return string.match(rec, '^([ae])|(%d+)|([^|]+)|([^|]+)|(%-?%d+)$')
end

-- Charges every active reservation whose lease ran out at `now` in full (reserved -> spent in
-- its own windows), forgets expired ones past their retention, and sets `due` to the earliest
-- remaining lease. Reads and validates every due record before writing anything, so a corrupt
-- record aborts with no change. Only calls at or after `due` run it, and it touches only the
-- records that are due: leases run out rarely, so it favours plainness over call count.
local function sweep(ledger, leases, now)
  local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  local records = {}
  for i, id in ipairs(ids) do
    local rec = redis.call('HGET', ledger, 'r:' .. id)
    if rec then
      local state, amount, day, month, expires = decode(rec)
      if not state then return {'corrupt', id} end
      records[i] = {state, amount, day, month, expires}
    else
      records[i] = false
    end
  end
  local now_n = tonumber(now)
  for i, id in ipairs(ids) do
    local r = records[i]
    local purge = r and tonumber(r[5]) + RETENTION_MS
    if r and r[1] == 'a' then
      local amount = r[2]
      if amount ~= '0' then
        local f = fields_of(r[3], r[4])
        for w = 1, 5, 2 do
          if redis.call('HINCRBY', ledger, f[w + 1], '-' .. amount) == 0 then
            redis.call('HDEL', ledger, f[w + 1])
          end
          redis.call('HINCRBY', ledger, f[w], amount)
        end
      end
    end
    if r and purge > now_n then
      redis.call('HSET', ledger, 'r:' .. id, encode('e', r[2], r[3], r[4], r[5]))
      redis.call('ZADD', leases, string.format('%.0f', purge), id)
    else
      redis.call('HDEL', ledger, 'r:' .. id)
      redis.call('ZREM', leases, id)
    end
  end
  local first = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('HSET', ledger, 'due', first[2])
  else
    redis.call('HDEL', ledger, 'due')
  end
  return nil
end

-- HMGET of `fields` (the first of them 'due'), after the sweep if `due` has come. Returns the
-- values, or nil and the sweep's refusal.
local function read(ledger, leases, now, fields)
  local values = redis.call('HMGET', ledger, unpack(fields))
  if values[1] and tonumber(values[1]) <= tonumber(now) then
    local refused = sweep(ledger, leases, now)
    if refused then return nil, refused end
    values = redis.call('HMGET', ledger, unpack(fields))
  end
  return values
end
