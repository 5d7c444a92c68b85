-- ContextStore::assign. ARGV: 2 conversation id, 3 agent id, 4 at.
local conversation_id = ARGV[2]
local agent = ARGV[3]
local at = tonumber(ARGV[4])

local function main()
  local c, raw = load_conversation(conversation_id)
  if c.status == 'resolved' then
    return { 'conflict', 'conversation ' .. conversation_id .. ' is resolved' }
  end
  if c.status == 'assigned' and c.assigned_agent == agent then
    return { 'ok', raw }
  end
  -- An agent may take a conversation from a bot; its open turn is dropped.
  if type(c.bot) == 'table' then
    c.bot.open_turn = nil
  end
  c.assigned_agent = agent
  c.last_agent = agent
  return settle(c, 'assigned', at)
end

return run(main)
