-- ContextStore::ingest. ARGV: 2 idempotency key, 3 identity key, 4 identity
-- JSON, 5 channel, 6 text, 7 received at, 8 display name, 9 `1` if a display
-- name was given, 10 queue for a new conversation, 11 reopen window,
-- 12 candidate customer id, 13 candidate conversation id, 14 candidate
-- message id. The candidates are used only when something new is created.
local idem = ARGV[2]
local identity_key = ARGV[3]
local identity = cjson.decode(ARGV[4])
local channel = ARGV[5]
local text = ARGV[6]
local at = tonumber(ARGV[7])
local display_name = NULL
if ARGV[9] == '1' then
  display_name = ARGV[8]
end
local queue = ARGV[10]
local window = tonumber(ARGV[11])

local function main()
  local inbound = key('inbound', idem)
  local seen = redis.call('GET', inbound)
  if seen then
    -- A redelivery: the message stored then, with its conversation and
    -- customer as they are now.
    local seq, conversation_id = parse_pointer(seen, inbound)
    local message = message_at(conversation_id, seq, inbound)
    local ck = key('conversation', conversation_id)
    local conversation, conversation_raw = load(ck, CONVERSATION)
    must(conversation, ck, inbound)
    local uk = key('customer', conversation.customer_id)
    local customer_raw = must(redis.call('GET', uk), uk, ck)
    return { 'duplicate', customer_raw, conversation_raw, message }
  end

  local ik = key('identity', identity_key)
  local customer_id = redis.call('GET', ik)
  local customer, new_customer, customer_changed
  if customer_id then
    local uk = key('customer', customer_id)
    customer = must(load(uk, CUSTOMER), uk, ik)
    new_customer, customer_changed = false, false
  else
    customer = {
      id = ARGV[12],
      identities = { identity },
      display_name = display_name,
      created_at_ms = at,
    }
    new_customer, customer_changed = true, true
  end
  if customer.display_name == NULL and display_name ~= NULL then
    customer.display_name = display_name
    customer_changed = true
  end

  local latest = nil
  local lk = key('latest', customer.id)
  if not new_customer then
    local latest_id = redis.call('GET', lk)
    if latest_id then
      local ck = key('conversation', latest_id)
      latest = must(load(ck, CONVERSATION), ck, lk)
    end
  end

  local conversation, opened, reopened
  if latest and latest.status ~= 'resolved' then
    conversation, opened, reopened = latest, false, false
  elseif latest and type(latest.resolved_at_ms) == 'number'
      and at - latest.resolved_at_ms <= window then
    conversation, opened, reopened = latest, false, true
    conversation.status = 'queued'
    conversation.queued_at_ms = at
    conversation.assigned_agent = NULL
    conversation.resolved_at_ms = NULL
  else
    conversation, opened, reopened = {
      id = ARGV[13],
      customer_id = customer.id,
      status = 'queued',
      queue = queue,
      last_channel = channel,
      last_identity = identity,
      created_at_ms = at,
      updated_at_ms = at,
      queued_at_ms = at,
      assigned_agent = NULL,
      last_agent = NULL,
      resolved_at_ms = NULL,
      message_count = 0,
    }, true, false
  end

  -- Every check passed: write.
  if new_customer then
    redis.call('SET', ik, customer.id)
  end
  if customer_changed then
    redis.call('SET', key('customer', customer.id), enc(customer))
  end
  if opened then
    redis.call('SET', lk, conversation.id)
  end
  local seq = conversation.message_count + 1
  local message = {
    id = ARGV[14],
    conversation_id = conversation.id,
    seq = seq,
    direction = 'inbound',
    channel = channel,
    agent_id = NULL,
    text = text,
    at_ms = at,
    delivery = 'received',
    idempotency_key = idem,
  }
  set_message(conversation.id, message)
  redis.call('SET', key('message', message.id), pointer(seq, conversation.id))
  redis.call('SET', inbound, pointer(seq, conversation.id))
  conversation.last_channel = channel
  conversation.last_identity = identity
  conversation.updated_at_ms = math.max(conversation.updated_at_ms, at)
  conversation.message_count = seq
  put_conversation(conversation)

  return {
    'ok', enc(customer), enc(conversation), enc(message),
    opened and '1' or '0', reopened and '1' or '0',
  }
end

return run(main)
