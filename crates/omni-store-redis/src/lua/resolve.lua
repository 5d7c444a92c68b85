-- ContextStore::resolve_with. ARGV: 2 conversation id, 3 at, 4 wrap-up
-- code (empty: none).
local conversation_id = ARGV[2]
local at = tonumber(ARGV[3])
local wrapup_code = ARGV[4]

local function main()
  local c, raw = load_conversation(conversation_id)
  if c.status == 'resolved' then
    return { 'ok', raw }
  end
  c.resolved_at_ms = at
  if wrapup_code ~= nil and wrapup_code ~= '' then
    c.wrapup_code = wrapup_code
  else
    c.wrapup_code = nil
  end
  c.assigned_agent = NULL
  return settle(c, 'resolved', at)
end

return run(main)
