-- Shared by every BudgetLLM ledger script (prepended to each; `RETENTION_MS` is defined above).
--
-- Amounts are non-negative decimal integers of nano-cents, passed and stored as strings. Lua
-- numbers are doubles, exact only below 2^53, so amounts are never added as plain numbers:
-- `big` splits one into a high part and its nine low digits, both exact as doubles, and the
-- helpers below add, subtract and compare such pairs exactly. Writes use HINCRBY with
-- decimal strings, and every sum is checked against MAX (Redis integers are i64) before
-- anything is written, so a script that refuses changes nothing.

local BILLION = 1000000000

local function big(s)
  if not s then return {0, 0} end
  local n = #s
  if n <= 9 then return {0, tonumber(s)} end
  return {tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))}
end

local function add(a, b)
  local hi, lo = a[1] + b[1], a[2] + b[2]
  if lo >= BILLION then return {hi + 1, lo - BILLION} end
  return {hi, lo}
end

-- a - b, for a >= b.
local function sub(a, b)
  local hi, lo = a[1] - b[1], a[2] - b[2]
  if lo < 0 then return {hi - 1, lo + BILLION} end
  return {hi, lo}
end

local function gt(a, b)
  return a[1] > b[1] or (a[1] == b[1] and a[2] > b[2])
end

local function str(a)
  if a[1] == 0 then return string.format('%.0f', a[2]) end
  return string.format('%.0f%09.0f', a[1], a[2])
end

local MAX = big('9223372036854775807')
local ZERO = {0, 0}

-- The windows of one day and month, in the order limits are checked: {name, field prefix}.
local function windows_of(day, month)
  return {{'total', 'total'}, {'monthly', 'm:' .. month}, {'daily', 'd:' .. day}}
end

-- spent and reserved of one window, as strings ('0' when absent).
local function read(windows, prefix)
  local v = redis.call('HMGET', windows, prefix .. ':s', prefix .. ':r')
  return v[1] or '0', v[2] or '0'
end

-- Adds a non-negative amount (string) to one field.
local function incr(windows, field, amount)
  if amount ~= '0' then redis.call('HINCRBY', windows, field, amount) end
end

-- Subtracts an amount (string) from a reserved field, dropping the field when it reaches zero.
local function decr(windows, field, amount)
  if amount ~= '0' and redis.call('HINCRBY', windows, field, '-' .. amount) == 0 then
    redis.call('HDEL', windows, field)
  end
end

-- A reservation record: 'a' (active) or 'e' (expired, already charged by its lease).
local function encode(state, amount, day, month, expires)
  return state .. '|' .. amount .. '|' .. day .. '|' .. month .. '|' .. expires
end

local function decode(rec)
  local state, amount, day, month, expires =
    string.match(rec, '^([ae])|(%d+)|([^|]+)|([^|]+)|(%-?%d+)$')
  if not state then return nil end
  return {state = state, amount = amount, day = day, month = month, expires = expires}
end

-- Charges every active reservation whose lease ran out at `now` in full (reserved -> spent in
-- its own windows) and forgets expired ones past their retention. Reads and validates every
-- due record before writing anything, so a corrupt record aborts with no change.
local function sweep(windows, reservations, leases, now)
  local due = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  if #due == 0 then return nil end
  local records = {}
  for i, id in ipairs(due) do
    local rec = redis.call('HGET', reservations, id)
    local r = rec and decode(rec)
    if rec and not r then return {'corrupt', id} end
    records[i] = r
  end
  local now_n = tonumber(now)
  for i, id in ipairs(due) do
    local r = records[i]
    if r and r.state == 'a' then
      for _, w in ipairs(windows_of(r.day, r.month)) do
        decr(windows, w[2] .. ':r', r.amount)
        incr(windows, w[2] .. ':s', r.amount)
      end
      local purge = tonumber(r.expires) + RETENTION_MS
      if purge > now_n then
        redis.call('HSET', reservations, id, encode('e', r.amount, r.day, r.month, r.expires))
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
