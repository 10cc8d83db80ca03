-- Window fields, reservation records and the lease sweep, for the scripts that touch the
-- windows (`RETENTION_MS` is defined above).

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
-- its own windows) and forgets expired ones past their retention. Reads and validates every
-- due record before writing anything, so a corrupt record aborts with no change. Leases run
-- out rarely, so this path favours plainness over call count: HINCRBY moves each amount.
local function sweep(windows, reservations, leases, now)
  local due = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  if #due == 0 then return nil end
  local records = {}
  for i, id in ipairs(due) do
    local rec = redis.call('HGET', reservations, id)
    if rec then
      local state, amount, day, month, expires = decode(rec)
      if not state then return {'corrupt', id} end
      records[i] = {state, amount, day, month, expires}
    else
      records[i] = false
    end
  end
  local now_n = tonumber(now)
  for i, id in ipairs(due) do
    local r = records[i]
    if r and r[1] == 'a' then
      local amount = r[2]
      if amount ~= '0' then
        local f = fields_of(r[3], r[4])
        for w = 1, 5, 2 do
          if redis.call('HINCRBY', windows, f[w + 1], '-' .. amount) == 0 then
            redis.call('HDEL', windows, f[w + 1])
          end
          redis.call('HINCRBY', windows, f[w], amount)
        end
      end
      local purge = tonumber(r[5]) + RETENTION_MS
      if purge > now_n then
        redis.call('HSET', reservations, id, encode('e', amount, r[3], r[4], r[5]))
        redis.call('ZADD', leases, string.format('%.0f', purge), id)
      else
        redis.call('HDEL', reservations, id)
        redis.call('ZREM', leases, id)
      end
    else
      redis.call('HDEL', reservations, id)
      redis.call('ZREM', leases, id)
    end
  end
  return nil
end
