//! What the agent's page sends on its event socket: its typing and what it
//! has read in a conversation, told to the customer through the context
//! service (`SignalConversation`, which checks again that the agent holds
//! the conversation).
//!
//! | page → desk | when |
//! |---|---|
//! | `{"type":"typing","conversation_id":"…","typing":true\|false}` | the agent types in (or stops typing in) a reply |
//! | `{"type":"read","conversation_id":"…","up_to_seq":n}` | the conversation is open in a visible page, showing the customer's messages up to `n` |
//!
//! Only conversations assigned to the agent count; others, and malformed
//! frames, are dropped. Per conversation, `typing: true` is forwarded at
//! most once per [`TYPING_EVERY`] (a change to false always), and a read
//! only when it moves forward. The calls run in the background: a slow
//! context service never holds up the agent's events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omni_core::Actor;
use omni_proto::context::{SignalConversationRequest, signal_conversation_request::Signal};
use serde::Deserialize;
use tracing::{debug, warn};

use crate::Desk;
use crate::desk::traced;

/// Least time between two forwarded `typing: true` of one conversation.
pub const TYPING_EVERY: Duration = Duration::from_secs(2);
/// Most conversations one socket remembers signals of (beyond, it forgets
/// them all: at worst one extra signal each).
const MAX_REMEMBERED: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PageFrame {
    Typing {
        conversation_id: String,
        typing: bool,
    },
    Read {
        conversation_id: String,
        up_to_seq: u64,
    },
}

/// The signals one event socket has forwarded.
#[derive(Debug, Default)]
pub struct Signals {
    /// Conversation -> (typing, when last forwarded).
    typing: HashMap<String, (bool, Instant)>,
    /// Conversation -> highest seq forwarded as read.
    read: HashMap<String, u64>,
}

impl Signals {
    /// Handles one text frame from the page of `actor`, who holds `assigned`.
    pub fn on_frame(
        &mut self,
        desk: &Arc<Desk>,
        actor: &Actor,
        assigned: &HashSet<String>,
        text: &str,
    ) {
        let Ok(frame) = serde_json::from_str::<PageFrame>(text) else {
            debug!(agent_id = %actor.user, "unknown desk page frame dropped");
            return;
        };
        let (PageFrame::Typing {
            conversation_id, ..
        }
        | PageFrame::Read {
            conversation_id, ..
        }) = &frame;
        // Checked first: a frame for a conversation not (yet) the agent's
        // leaves no trace, so the same frame once it is goes through.
        if !assigned.contains(conversation_id) {
            return;
        }
        let (conversation_id, signal) = match frame {
            PageFrame::Typing {
                conversation_id,
                typing,
            } => {
                if !self.typing_due(&conversation_id, typing, Instant::now()) {
                    return;
                }
                (conversation_id, Signal::Typing(typing))
            }
            PageFrame::Read {
                conversation_id,
                up_to_seq,
            } => {
                if !self.read_due(&conversation_id, up_to_seq) {
                    return;
                }
                (conversation_id, Signal::ReadUpToSeq(up_to_seq))
            }
        };
        let request = traced(
            actor,
            SignalConversationRequest {
                conversation_id: conversation_id.clone(),
                agent_id: actor.user.clone(),
                signal: Some(signal),
            },
        );
        let mut context = desk.context();
        let agent = actor.user.clone();
        tokio::spawn(async move {
            if let Err(status) = context.signal_conversation(request).await {
                warn!(agent_id = %agent, conversation_id = %conversation_id, error = %status, "typing or read signal not sent");
            }
        });
    }

    fn typing_due(&mut self, conversation_id: &str, typing: bool, now: Instant) -> bool {
        if self.typing.len() >= MAX_REMEMBERED && !self.typing.contains_key(conversation_id) {
            self.typing.clear();
        }
        let due = match self.typing.get(conversation_id) {
            Some((was, at)) => {
                *was != typing || (typing && now.duration_since(*at) >= TYPING_EVERY)
            }
            // A first "stopped" tells the customer nothing new.
            None => typing,
        };
        if due {
            self.typing
                .insert(conversation_id.to_owned(), (typing, now));
        }
        due
    }

    fn read_due(&mut self, conversation_id: &str, up_to_seq: u64) -> bool {
        if self.read.len() >= MAX_REMEMBERED && !self.read.contains_key(conversation_id) {
            self.read.clear();
        }
        let before = self.read.get(conversation_id).copied().unwrap_or(0);
        if up_to_seq <= before {
            return false;
        }
        self.read.insert(conversation_id.to_owned(), up_to_seq);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_throttled_but_a_stop_always_goes() {
        let mut s = Signals::default();
        let t0 = Instant::now();
        assert!(!s.typing_due("k", false, t0), "a first stop says nothing");
        assert!(s.typing_due("k", true, t0));
        assert!(!s.typing_due("k", true, t0 + Duration::from_millis(500)));
        assert!(s.typing_due("k", false, t0 + Duration::from_millis(600)));
        assert!(s.typing_due("k", true, t0 + Duration::from_millis(700)));
        assert!(s.typing_due("k", true, t0 + Duration::from_millis(700) + TYPING_EVERY));
        assert!(s.typing_due("other", true, t0), "per conversation");
    }

    #[test]
    fn reads_only_move_forward() {
        let mut s = Signals::default();
        assert!(s.read_due("k", 3));
        assert!(!s.read_due("k", 3));
        assert!(!s.read_due("k", 2));
        assert!(s.read_due("k", 5));
        assert!(!s.read_due("other", 0));
    }
}
