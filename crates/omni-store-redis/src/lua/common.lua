-- Shared by every script: key names, exact JSON encoding, record loading and
-- the reply convention. ARGV[1] is the hash tag `{prefix}`; every key a
-- script touches starts with it, so all of them live in one slot.
-- A script replies with an array of strings whose first element says how it
-- went: `ok`, `duplicate`, `not_found` (kind, id), `conflict` (message) or
-- `corrupt` (key, reason). All reads and checks happen before the first
-- write, so a script that refuses leaves nothing half done.

local TAG = ARGV[1]
local NULL = cjson.null

local function key(kind, id)
  if id == nil then
    return TAG .. ':' .. kind
  end
  return TAG .. ':' .. kind .. ':' .. id
end

-- Every number in these records is an integer (milliseconds, seqs, counts):
-- `%.0f` writes it exactly up to 2^53, where cjson's `%.14g` would round.
local function int(n)
  return string.format('%.0f', n)
end

local function enc(v)
  if v == nil or v == NULL then
    return 'null'
  end
  local t = type(v)
  if t == 'number' then
    return int(v)
  elseif t == 'string' or t == 'boolean' then
    return cjson.encode(v)
  elseif t == 'table' then
    local parts = {}
    if v[1] ~= nil or next(v) == nil then
      for i = 1, #v do
        parts[i] = enc(v[i])
      end
      return '[' .. table.concat(parts, ',') .. ']'
    end
    local n = 0
    for k, x in pairs(v) do
      n = n + 1
      parts[n] = cjson.encode(tostring(k)) .. ':' .. enc(x)
    end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  error('cannot encode a ' .. t)
end

local function corrupt(k, reason)
  error({ corrupt = true, key = k, reason = reason })
end

-- The fields a script reads from each record, with their Lua types: a
-- record without them is refused before anything is written.
local CUSTOMER = { id = 'string', created_at_ms = 'number' }
local CONVERSATION = {
  id = 'string', customer_id = 'string', status = 'string',
  updated_at_ms = 'number', message_count = 'number',
}
local MESSAGE = { id = 'string', seq = 'number', delivery = 'string' }

local function decode(raw, k, shape)
  local ok, v = pcall(cjson.decode, raw)
  if not ok or type(v) ~= 'table' then
    corrupt(k, 'not a JSON object: ' .. tostring(v))
  end
  for field, t in pairs(shape) do
    if type(v[field]) ~= t then
      corrupt(k, 'field ' .. field .. ' is not a ' .. t)
    end
  end
  return v
end

-- The record at `k` decoded, and its raw JSON; nil when absent.
local function load(k, shape)
  local raw = redis.call('GET', k)
  if not raw then
    return nil, nil
  end
  return decode(raw, k, shape), raw
end

local function must(v, k, from)
  if v == nil or v == false then
    corrupt(k, 'missing, but referenced by ' .. from)
  end
  return v
end

-- `<seq> <conversation id>`, as stored under `inbound:` and `message:` keys.
local function pointer(seq, conversation_id)
  return int(seq) .. ' ' .. conversation_id
end

local function parse_pointer(raw, k)
  local seq, id = string.match(raw, '^(%d+) (.+)$')
  if not seq then
    corrupt(k, 'not a message pointer: ' .. raw)
  end
  return tonumber(seq), id
end

-- The raw JSON of message `seq` of a conversation.
local function message_at(conversation_id, seq, from)
  local k = key('messages', conversation_id)
  local found = redis.call('ZRANGE', k, int(seq), int(seq), 'BYSCORE')
  return must(found[1], k .. '/' .. int(seq), from)
end

local function set_message(conversation_id, message)
  local k = key('messages', conversation_id)
  redis.call('ZREMRANGEBYSCORE', k, int(message.seq), int(message.seq))
  redis.call('ZADD', k, int(message.seq), enc(message))
end

-- The seq of a customer message the adapter accepted at `at`, in a
-- conversation of `count` messages: after every message stamped at or before
-- `at`, so a retried or redelivered message takes its place among the ones
-- accepted after it and equal stamps keep their arrival order. Also returns
-- the messages stamped later, newest first, for `shift`. Reads only.
local function place(conversation_id, count, at)
  local k = key('messages', conversation_id)
  local later = {}
  local seq = count + 1
  while seq > 1 do
    local raw = message_at(conversation_id, seq - 1, key('conversation', conversation_id))
    local m = decode(raw, k .. '/' .. int(seq - 1), MESSAGE)
    if type(m.at_ms) ~= 'number' or m.at_ms <= at then
      break
    end
    later[#later + 1] = m
    seq = seq - 1
  end
  return seq, later
end

-- Moves the messages `place` returned one seq up, newest first, with every
-- pointer to them; the seq `place` returned is then free.
local function shift(conversation_id, later)
  for _, m in ipairs(later) do
    m.seq = m.seq + 1
    set_message(conversation_id, m)
    local p = pointer(m.seq, conversation_id)
    redis.call('SET', key('message', m.id), p)
    if m.direction == 'inbound' then
      redis.call('SET', key('inbound', m.idempotency_key), p)
    else
      redis.call('HSET', key('outbound', conversation_id), m.idempotency_key, int(m.seq))
    end
  end
end

-- Conversation `id` decoded, and its raw JSON. When there is none the
-- script stops and answers `not_found` (call it before writing anything).
local function load_conversation(id)
  local c, raw = load(key('conversation', id), CONVERSATION)
  if not c then
    error({ reply = { 'not_found', 'conversation', id } })
  end
  return c, raw
end

-- Stores a conversation changed at `at` (its `updated_at_ms` never goes
-- back) and keeps the set of open conversations in step.
local function put_conversation(c, at)
  c.updated_at_ms = math.max(c.updated_at_ms, at)
  redis.call('SET', key('conversation', c.id), enc(c))
  if c.status == 'resolved' then
    redis.call('SREM', key('open'), c.id)
  else
    redis.call('SADD', key('open'), c.id)
  end
end

-- Moves a conversation out of its queue into `status` at `at`, stores it
-- and answers with it.
local function settle(c, status, at)
  c.status = status
  c.queued_at_ms = NULL
  put_conversation(c, at)
  return { 'ok', enc(c) }
end

-- Runs a script's `main`: a corrupt record (`corrupt`) or an early answer
-- (`load_conversation`) raised as an error becomes the script's reply.
local function run(main)
  local ok, res = pcall(main)
  if ok then
    return res
  end
  if type(res) == 'table' and res.corrupt then
    return { 'corrupt', res.key, res.reason }
  end
  if type(res) == 'table' and res.reply then
    return res.reply
  end
  error(res, 0)
end
