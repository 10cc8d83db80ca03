-- The ledger hash, the reservation records in it and the lease sweep, for the scripts that
-- touch the windows (`RETENTION_MS` is defined above).
--
-- One hash per namespace holds the whole budget, so a script reads everything it needs with
-- one HMGET and writes with one HSET (and one HDEL):
--   paused        '1' while paused (absent otherwise)
--   next_id       the last reservation id handed out
--   due           a time (ms) no record needs the sweep before; absent when there are none
--   total:s|r, m:<YYYY-MM>:s|r, d:<YYYY-MM-DD>:s|r
--                 spent and reserved nano-cents per window (absent = 0)
--   r:<id>        a reservation record (`encode`)

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

-- When a record next needs the sweep: its lease expiry while active, its purge time once
-- expired (it is kept that long so that a late settle charges only the excess).
local function due_of(state, expires)
  local t = tonumber(expires)
  if state == 'e' then return t + RETENTION_MS end
  return t
end

-- Charges every active reservation whose lease ran out at `now` in full (reserved -> spent in
-- its own windows), forgets expired ones past their retention, and sets `due` to the earliest
-- time a remaining record needs this again. Reads and validates every record before writing
-- anything, so a corrupt record aborts with no change. It runs only once `due` has come — about
-- once per lease, not per call — so it favours plainness over call count.
local function sweep(ledger, now)
  local all = redis.call('HGETALL', ledger)
  local records = {}
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, 1, 2) == 'r:' then
      local state, amount, day, month, expires = decode(all[i + 1])
      if not state then return {'corrupt', string.sub(field, 3)} end
      records[#records + 1] = {field, state, amount, day, month, expires}
    end
  end
  local now_n = tonumber(now)
  local due = nil
  for _, r in ipairs(records) do
    local field, state, amount, day, month, expires = r[1], r[2], r[3], r[4], r[5], r[6]
    if state == 'a' and tonumber(expires) <= now_n then
      if amount ~= '0' then
        local f = fields_of(day, month)
        for w = 1, 5, 2 do
          if redis.call('HINCRBY', ledger, f[w + 1], '-' .. amount) == 0 then
            redis.call('HDEL', ledger, f[w + 1])
          end
          redis.call('HINCRBY', ledger, f[w], amount)
        end
      end
      state = 'e'
      redis.call('HSET', ledger, field, encode(state, amount, day, month, expires))
    end
    local t = due_of(state, expires)
    if t <= now_n then
      redis.call('HDEL', ledger, field)
    elseif not due or t < due then
      due = t
    end
  end
  if due then
    redis.call('HSET', ledger, 'due', string.format('%.0f', due))
  else
    redis.call('HDEL', ledger, 'due')
  end
  return nil
end

-- HMGET of `fields` (the first of them 'due'), after the sweep if `due` has come. Returns the
-- values, or nil and the sweep's refusal.
local function read(ledger, now, fields)
  local values = redis.call('HMGET', ledger, unpack(fields))
  if values[1] and tonumber(values[1]) <= tonumber(now) then
    local refused = sweep(ledger, now)
    if refused then return nil, refused end
    values = redis.call('HMGET', ledger, unpack(fields))
  end
  return values
end
