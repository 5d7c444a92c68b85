-- ContextStore::ingest_with. ARGV: 2 idempotency key, 3 identity key,
-- 4 identity JSON, 5 channel, 6 text, 7 received at, 8 display name, 9 `1` if
-- a display name was given, 10 queue for a new conversation, 11 reopen
-- window, 12 candidate customer id, 13 candidate conversation id,
-- 14 candidate message id, 15 thread conversation id (or empty), 16 thread
-- evidence (unused here: for the log), 17 opt change (`out`, `in` or empty), 18 opt keyword, 19 email
-- details JSON (or empty), 20 notice JSON (or empty), 21 Message-ID to index
-- (or empty), 22 traceparent (or empty: keep the conversation's), 23 number
-- of attachments to store, 24 the queue's bot (or empty: a new or reopened
-- conversation starts held by it, status `bot`), then (index, content) pairs.
-- The candidates are used only when something new is created.
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
local thread_id = ARGV[15]
local opt = ARGV[17]

local function within_window(resolved_at)
  return type(resolved_at) == 'number' and at - resolved_at <= window
end

local function same_identity(a, b)
  return type(a) == 'table' and a.kind == b.kind and a.value == b.value
end

-- omni_store::MAX_UNVERIFIED: the most unverified identities a customer
-- holds; one more sender is not recorded (its message is kept).
local MAX_UNVERIFIED = 20

-- merge::add_unverified: the sender joins the customer's unverified
-- identities (shown to agents, never used to find or reply). Returns whether
-- anything changed.
local function add_unverified(customer)
  for _, i in ipairs(customer.identities or {}) do
    if same_identity(i, identity) then
      return false
    end
  end
  if type(customer.unverified) ~= 'table' then
    customer.unverified = {}
  end
  for _, u in ipairs(customer.unverified) do
    if same_identity(u, identity) then
      return false
    end
  end
  if #customer.unverified >= MAX_UNVERIFIED then
    return false
  end
  customer.unverified[#customer.unverified + 1] = identity
  return true
end

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

  local thread = nil
  if thread_id ~= '' then
    thread = load(key('conversation', thread_id), CONVERSATION)
  end
  local ik = key('identity', identity_key)
  local owner = redis.call('GET', ik)
  local customer, customer_changed, new_identity, sender_owned
  if owner and thread and thread.customer_id ~= owner then
    -- A known sender writing into another customer's thread: the thread
    -- wins, nobody is merged on that alone, and the sender is only an
    -- unverified participant there.
    local uk = key('customer', thread.customer_id)
    customer = must(load(uk, CUSTOMER), uk, key('conversation', thread.id))
    customer_changed = add_unverified(customer)
    new_identity, sender_owned = false, false
  elseif owner then
    local uk = key('customer', owner)
    customer = must(load(uk, CUSTOMER), uk, ik)
    customer_changed, new_identity, sender_owned = false, false, true
  elseif thread then
    -- A new sender writing to the thread's reply address or quoting its
    -- Message-ID: anyone can, so the sender is kept as an unverified
    -- participant an agent may confirm, never linked on that alone.
    local uk = key('customer', thread.customer_id)
    customer = must(load(uk, CUSTOMER), uk, key('conversation', thread.id))
    customer_changed = add_unverified(customer)
    new_identity, sender_owned = false, false
  else
    customer = {
      id = ARGV[12],
      identities = { identity },
      display_name = display_name,
      created_at_ms = at,
    }
    customer_changed, new_identity, sender_owned = true, true, true
  end
  if sender_owned then
    if customer.display_name == NULL and display_name ~= NULL then
      customer.display_name = display_name
      customer_changed = true
    end
    if opt == 'out' then
      if type(customer.opt_outs) ~= 'table' then
        customer.opt_outs = {}
      end
      customer.opt_outs[identity_key] = { at_ms = at, keyword = ARGV[18] }
      customer_changed = true
    elseif opt == 'in' and type(customer.opt_outs) == 'table'
        and customer.opt_outs[identity_key] ~= nil then
      customer.opt_outs[identity_key] = nil
      if next(customer.opt_outs) == nil then
        customer.opt_outs = nil
      end
      customer_changed = true
    end
  end

  local latest = nil
  local lk = key('latest', customer.id)
  if thread and thread.customer_id == customer.id
      and (thread.status ~= 'resolved' or within_window(thread.resolved_at_ms)) then
    latest = thread
  else
    local latest_id = redis.call('GET', lk)
    if latest_id then
      local ck = key('conversation', latest_id)
      latest = must(load(ck, CONVERSATION), ck, lk)
    end
  end

  local conversation, opened, reopened
  if latest and latest.status ~= 'resolved' then
    conversation, opened, reopened = latest, false, false
  elseif latest and within_window(latest.resolved_at_ms) then
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

  if (opened or reopened) and ARGV[24] ~= '' then
    conversation.status = 'bot'
    conversation.queued_at_ms = NULL
    conversation.handoff = nil
    conversation.bot = { bot = ARGV[24], turns = 0 }
  end

  local seq, later = place(conversation.id, conversation.message_count, at)

  -- Every check passed: write.
  if new_identity then
    redis.call('SET', ik, customer.id)
  end
  if customer_changed then
    redis.call('SET', key('customer', customer.id), enc(customer))
  end
  if opened then
    redis.call('ZADD', key('customer_conversations', customer.id), int(at), conversation.id)
  end
  redis.call('SET', lk, conversation.id)
  shift(conversation.id, later)
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
  if ARGV[19] ~= '' then
    message.email = cjson.decode(ARGV[19])
  end
  if ARGV[20] ~= '' then
    message.notice = cjson.decode(ARGV[20])
  end
  if ARGV[21] ~= '' then
    redis.call('SET', key('email_thread', ARGV[21]), conversation.id, 'NX')
  end
  local attachments = tonumber(ARGV[23])
  for i = 0, attachments - 1 do
    local index = ARGV[25 + 2 * i]
    redis.call('SET', key('attachment', message.id .. ':' .. index), ARGV[26 + 2 * i])
  end
  set_message(conversation.id, message)
  redis.call('SET', key('message', message.id), pointer(seq, conversation.id))
  redis.call('SET', inbound, pointer(seq, conversation.id))
  local channel_changed = conversation.last_channel ~= channel
  conversation.last_channel = channel
  if sender_owned then
    -- Only the customer's own identities become the reply target.
    conversation.last_identity = identity
  end
  conversation.message_count = conversation.message_count + 1
  if ARGV[22] ~= '' then
    conversation.trace = ARGV[22]
  end
  put_conversation(conversation, at)

  return {
    'ok', enc(customer), enc(conversation), enc(message),
    opened and '1' or '0', reopened and '1' or '0',
    channel_changed and '1' or '0',
  }
end

return run(main)
