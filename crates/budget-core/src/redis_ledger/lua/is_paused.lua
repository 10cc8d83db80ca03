-- is_paused. KEYS: ledger. Reply: {'1'} or {'0'}.
return {redis.call('HGET', KEYS[1], 'paused') == '1' and '1' or '0'}
