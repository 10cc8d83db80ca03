-- Exact amounts, for the scripts that compare or add them.
--
-- Amounts are non-negative decimal integers of nano-cents, passed and stored as strings. Lua
-- numbers are doubles, exact only below 2^53, so amounts are never added as plain numbers:
-- `num` splits one into a high part and its nine low digits, both exact as doubles, and the
-- helpers below add, subtract and compare such pairs exactly. They pass pairs as two return
-- values, never as tables: a script runs these on every call, and allocating is what costs.
-- Every sum is checked against MAX (Redis integers are i64) before anything is written, so a
-- script that refuses changes nothing.

local BILLION = 1000000000
local MAX_HI, MAX_LO = 9223372036, 854775807
local sub_string, format = string.sub, string.format

-- A stored or passed amount as (high, low); an absent one (nil or HMGET's false) is zero.
-- Up to 15 digits the number itself is exact, and `%` and `/` split it exactly (the quotient
-- of a multiple of a billion is an integer); only longer ones are cut as text.
local function num(s)
  if not s then return 0, 0 end
  local n = #s
  if n <= 15 then
    local x = tonumber(s)
    local lo = x % BILLION
    return (x - lo) / BILLION, lo
  end
  return tonumber(sub_string(s, 1, n - 9)), tonumber(sub_string(s, n - 8))
end

local function add(ah, al, bh, bl)
  local hi, lo = ah + bh, al + bl
  if lo >= BILLION then return hi + 1, lo - BILLION end
  return hi, lo
end

-- a - b, for a >= b.
local function sub(ah, al, bh, bl)
  local hi, lo = ah - bh, al - bl
  if lo < 0 then return hi - 1, lo + BILLION end
  return hi, lo
end

local function gt(ah, al, bh, bl)
  return ah > bh or (ah == bh and al > bl)
end

local function str(hi, lo)
  if hi == 0 then return format('%d', lo) end
  return format('%d%09d', hi, lo)
end

-- a - b as a string, also when b > a (only a damaged store has a window reserving less than
-- one of its reservations; the difference is kept, as HINCRBY would).
local function minus(ah, al, bh, bl)
  if gt(bh, bl, ah, al) then return '-' .. str(sub(bh, bl, ah, al)) end
  return str(sub(ah, al, bh, bl))
end
