-- ContextStore::record_delivery. ARGV: 2 conversation id, 3 message id,
-- 4 status, 5 error (kept for `failed`; may be empty). Replies `ok` and the
-- updated message, or `ok` alone when the report changes nothing.
local conversation_id = ARGV[2]
local message_id = ARGV[3]
local status = ARGV[4]
local error_text = ARGV[5]

-- DeliveryStatus::rank: a report never moves a message back.
local RANK = { received = 0, queued = 0, sent = 1, delivered = 2, failed = 2, read = 3 }

local function main()
  local mk = key('message', message_id)
  local raw = redis.call('GET', mk)
  if not raw then
    return { 'not_found', 'message', message_id }
  end
  local seq, owner = parse_pointer(raw, mk)
  if owner ~= conversation_id then
    return { 'not_found', 'message', message_id }
  end
  local message = decode(message_at(conversation_id, seq, mk),
    key('messages', conversation_id) .. '/' .. int(seq), MESSAGE)
  local current = RANK[message.delivery]
  local wanted = RANK[status]
  if current == nil or wanted == nil then
    return { 'conflict', 'unknown delivery status ' .. tostring(message.delivery)
      .. ' -> ' .. status }
  end
  if wanted <= current then
    return { 'ok' }
  end
  message.delivery = status
  if status == 'failed' and error_text ~= '' then
    message.error = error_text
  else
    message.error = nil
  end
  set_message(conversation_id, message)
  return { 'ok', enc(message) }
end

return run(main)
