-- Compare-and-set for the operations planned in Rust (link, merge, unmerge,
-- attribute updates). ARGV: 2 number of checks n, then n triples (key,
-- `1` present / `0` absent, value): the writes happen only if every checked
-- key still holds what the caller read; otherwise the reply is `retry` and
-- the caller reads again. Then write operations as quadruples (op, key, a,
-- b): `set` k v, `del` k, `zadd` k score member, `zrem` k member, `srem` k
-- member, `hdel` k field. Every key
-- must carry the store's hash tag.
local function tagged(k)
  if string.sub(k, 1, #TAG + 1) ~= TAG .. ':' then
    error('key outside the store tag: ' .. k)
  end
  return k
end

local function main()
  local n = tonumber(ARGV[2])
  local i = 3
  for _ = 1, n do
    local k, present, v = tagged(ARGV[i]), ARGV[i + 1], ARGV[i + 2]
    i = i + 3
    local current = redis.call('GET', k)
    if present == '1' then
      if current ~= v then
        return { 'retry', k }
      end
    elseif current then
      return { 'retry', k }
    end
  end
  local writes = {}
  while i <= #ARGV do
    local op, k = ARGV[i], tagged(ARGV[i + 1])
    if op ~= 'set' and op ~= 'del' and op ~= 'zadd' and op ~= 'zrem'
      and op ~= 'srem' and op ~= 'hdel' then
      error('unknown write operation ' .. op)
    end
    writes[#writes + 1] = { op, k, ARGV[i + 2], ARGV[i + 3] }
    i = i + 4
  end
  for _, w in ipairs(writes) do
    local op, k, a, b = w[1], w[2], w[3], w[4]
    if op == 'set' then
      redis.call('SET', k, a)
    elseif op == 'del' then
      redis.call('DEL', k)
    elseif op == 'zadd' then
      redis.call('ZADD', k, a, b)
    elseif op == 'srem' then
      redis.call('SREM', k, a)
    elseif op == 'hdel' then
      redis.call('HDEL', k, a)
    else
      redis.call('ZREM', k, a)
    end
  end
  return { 'ok' }
end

return run(main)
