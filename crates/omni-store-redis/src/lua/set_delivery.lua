-- ContextStore::set_delivery. ARGV: 2 conversation id, 3 message id, 4 status.
local conversation_id = ARGV[2]
local message_id = ARGV[3]
local status = ARGV[4]

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
  if message.delivery ~= status then
    message.delivery = status
    set_message(conversation_id, message)
  end
  return { 'ok' }
end

return run(main)
