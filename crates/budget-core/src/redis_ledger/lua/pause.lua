-- pause (ARGV[1] = '1') or resume (ARGV[1] = '0'). KEYS: ledger. Reply: {'ok'}.
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'paused', '1')
else
  redis.call('HDEL', KEYS[1], 'paused')
end
return {'ok'}
