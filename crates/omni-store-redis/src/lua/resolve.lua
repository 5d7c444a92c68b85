-- ContextStore::resolve. ARGV: 2 conversation id, 3 at.
local conversation_id = ARGV[2]
local at = tonumber(ARGV[3])

local function main()
  local c, raw = load_conversation(conversation_id)
  if c.status == 'resolved' then
    return { 'ok', raw }
  end
  c.resolved_at_ms = at
  c.assigned_agent = NULL
  return settle(c, 'resolved', at)
end

return run(main)
