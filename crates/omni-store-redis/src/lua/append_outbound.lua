-- ContextStore::append_outbound. ARGV: 2 conversation id, 3 idempotency key,
-- 4 agent id, 5 text, 6 channel, 7 written at, 8 candidate message id,
-- 9 email threading JSON (or empty), 10 its Message-ID to index (or empty),
-- 11 notice JSON (or empty), 12 quick-reply options JSON (or empty). An empty agent id is an automatic message: no
-- agent_id field.
local conversation_id = ARGV[2]
local idem = ARGV[3]
local at = tonumber(ARGV[7])

local function main()
  local conversation = load_conversation(conversation_id)
  local ok = key('outbound', conversation_id)
  local seen = redis.call('HGET', ok, idem)
  if seen then
    return { 'ok', message_at(conversation_id, tonumber(seen), ok .. '/' .. idem) }
  end

  local seq = conversation.message_count + 1
  local message = {
    id = ARGV[8],
    conversation_id = conversation_id,
    seq = seq,
    direction = 'outbound',
    channel = ARGV[6],
    agent_id = ARGV[4] ~= '' and ARGV[4] or nil,
    text = ARGV[5],
    at_ms = at,
    delivery = 'queued',
    idempotency_key = idem,
  }
  if ARGV[9] ~= '' then
    message.email = cjson.decode(ARGV[9])
  end
  if ARGV[11] ~= '' then
    message.notice = cjson.decode(ARGV[11])
  end
  if ARGV[12] ~= '' then
    message.options = cjson.decode(ARGV[12])
  end
  if ARGV[10] ~= '' then
    redis.call('SET', key('email_thread', ARGV[10]), conversation_id)
  end
  set_message(conversation_id, message)
  redis.call('SET', key('message', message.id), pointer(seq, conversation_id))
  redis.call('HSET', ok, idem, int(seq))
  conversation.message_count = seq
  put_conversation(conversation, at)
  return { 'ok', enc(message) }
end

return run(main)
