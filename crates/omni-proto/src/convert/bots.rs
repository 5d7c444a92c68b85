//! A bot's handoff between the domain and the proto
//! (`common.v1.BotHandoff`).

use omni_core::BotHandoff;

use crate::common as pb;

impl From<&BotHandoff> for pb::BotHandoff {
    fn from(h: &BotHandoff) -> Self {
        pb::BotHandoff {
            bot: h.bot.clone(),
            summary: h.summary.clone(),
            intent: h.intent.clone(),
            reason: h.reason.clone(),
            turns: h.turns,
            at_ms: h.at_ms,
        }
    }
}

impl From<pb::BotHandoff> for BotHandoff {
    fn from(h: pb::BotHandoff) -> Self {
        BotHandoff {
            bot: h.bot,
            summary: h.summary,
            intent: h.intent,
            reason: h.reason,
            turns: h.turns,
            at_ms: h.at_ms,
        }
    }
}
