//! Typing and reading between the customer's page and the agent.
//!
//! | direction | what |
//! |---|---|
//! | page → server | `{"type":"typing","typing":true\|false}`: published as a `Typing` (by `customer`) conversation event of the visitor's current conversation, for the agent's desk |
//! | server → page | `{"type":"typing","conversation_id":"…","typing":…,"agent_name":…}`: the agent types (or stopped) |
//! | server → page | `{"type":"read","conversation_id":"…","client_ids":[…]}`: the agent was shown the customer's messages with these `client_id`s |
//!
//! Conversation events are fan-out and best effort (nothing is stored). A
//! page's `typing: true` is published at most once per [`TYPING_EVERY`]
//! (a change to false always). Which visitor an agent's typing is for:
//! learned from the conversation's `updated` events, else asked of the
//! context service once ([`Holders`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use omni_bus::Message;
use omni_bus::topology::subjects;
use omni_proto::common as pb;
use omni_proto::context::{FindConversationRequest, GetConversationRequest};
use omni_proto::events as ev;
use prost::Message as _;
use tracing::{debug, warn};

use crate::ChatAdapter;
use crate::protocol::ServerFrame;

/// Least time between two published `typing: true` of one page.
pub const TYPING_EVERY: Duration = Duration::from_secs(2);
/// How long a page's conversation id is trusted before it is looked up
/// again (the customer may have started a new conversation since).
const CONVERSATION_FRESH: Duration = Duration::from_secs(20);
/// Most conversations whose visitor [`Holders`] keeps.
const MAX_HOLDERS: usize = 100_000;

/// One page's typing: what it last published, and its conversation.
#[derive(Debug, Default)]
pub struct PageTyping {
    last: Option<(bool, Instant)>,
    conversation: Option<(String, Instant)>,
}

impl PageTyping {
    /// Whether a `typing` frame at `now` is to be published.
    pub fn due(&mut self, typing: bool, now: Instant) -> bool {
        let due = match self.last {
            Some((was, at)) => was != typing || (typing && now.duration_since(at) >= TYPING_EVERY),
            None => typing,
        };
        if due {
            self.last = Some((typing, now));
        }
        due
    }

    /// The page's conversation is `id` (known at `welcome`).
    pub fn set_conversation(&mut self, id: Option<String>) {
        self.conversation = id.map(|id| (id, Instant::now()));
    }

    /// Publishes the customer's typing on the visitor's current conversation;
    /// nothing when the visitor has none yet.
    pub async fn publish(&mut self, adapter: &ChatAdapter, visitor: &str, typing: bool) {
        let fresh = self
            .conversation
            .as_ref()
            .filter(|(_, at)| at.elapsed() < CONVERSATION_FRESH)
            .map(|(id, _)| id.clone());
        let id = match fresh {
            Some(id) => id,
            None => match current_conversation(adapter, visitor).await {
                Some(id) => {
                    self.conversation = Some((id.clone(), Instant::now()));
                    id
                }
                None => return,
            },
        };
        let event = ev::ConversationEvent {
            conversation_id: id.clone(),
            kind: Some(ev::conversation_event::Kind::Typing(ev::Typing {
                by: "customer".into(),
                agent_id: String::new(),
                typing,
                at_ms: omni_core::time::now_ms(),
            })),
        };
        let message = Message::new(subjects::conversation_event(&id), event.encode_to_vec());
        if let Err(e) = adapter.bus().notify(message).await {
            warn!(visitor = %visitor, conversation_id = %id, error = %e, "customer typing not sent");
        }
    }
}

async fn current_conversation(adapter: &ChatAdapter, visitor: &str) -> Option<String> {
    let found = adapter
        .context()
        .find_conversation(FindConversationRequest {
            identity: Some(pb::Identity::from(&omni_core::Identity::ChatVisitor(
                visitor.to_owned(),
            ))),
        })
        .await;
    match found {
        Ok(r) => r.into_inner().conversation.map(|c| c.id),
        Err(status) if status.code() == tonic::Code::NotFound => None,
        Err(status) => {
            warn!(visitor = %visitor, error = %status, "conversation for typing unavailable");
            None
        }
    }
}

/// The chat visitor of each conversation seen (`None`: not by chat).
#[derive(Debug, Default)]
pub struct Holders(HashMap<String, Option<String>>);

impl Holders {
    /// Keeps the visitor of an open conversation; forgets a resolved one.
    pub fn learn(&mut self, conversation: &pb::Conversation, visitor: Option<String>) {
        if conversation.status() == pb::ConversationStatus::Resolved {
            self.0.remove(&conversation.id);
            return;
        }
        if self.0.len() >= MAX_HOLDERS && !self.0.contains_key(&conversation.id) {
            self.0.clear();
        }
        self.0.insert(conversation.id.clone(), visitor);
    }

    async fn visitor(&mut self, adapter: &ChatAdapter, id: &str) -> Option<String> {
        if let Some(known) = self.0.get(id) {
            return known.clone();
        }
        let found = adapter
            .context()
            .get_conversation(GetConversationRequest {
                conversation_id: id.to_owned(),
            })
            .await;
        match found {
            Ok(r) => {
                let conversation = r.into_inner().conversation?;
                let visitor = crate::status::chat_visitor(&conversation);
                self.learn(&conversation, visitor.clone());
                visitor
            }
            Err(status) => {
                warn!(conversation_id = %id, error = %status, "agent typing not forwarded: conversation unavailable");
                None
            }
        }
    }
}

/// Forwards an agent's typing or read receipt to the customer's pages.
pub async fn forward(adapter: &ChatAdapter, holders: &mut Holders, event: ev::ConversationEvent) {
    let frame = match event.kind {
        Some(ev::conversation_event::Kind::Typing(t)) if t.by == "agent" => ServerFrame::Typing {
            conversation_id: event.conversation_id.clone(),
            typing: t.typing,
            agent_name: adapter
                .agent_name(&t.agent_id)
                .or(Some(t.agent_id).filter(|a| !a.is_empty())),
        },
        Some(ev::conversation_event::Kind::Read(r)) if !r.client_ids.is_empty() => {
            ServerFrame::Read {
                conversation_id: event.conversation_id.clone(),
                client_ids: r.client_ids,
            }
        }
        _ => return,
    };
    let Some(visitor) = holders.visitor(adapter, &event.conversation_id).await else {
        return;
    };
    let pages = adapter.push(&visitor, &frame);
    debug!(visitor = %visitor, conversation_id = %event.conversation_id, pages, "typing or read pushed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_throttled_but_a_stop_always_goes() {
        let mut page = PageTyping::default();
        let t0 = Instant::now();
        assert!(!page.due(false, t0), "a first stop says nothing");
        assert!(page.due(true, t0));
        assert!(!page.due(true, t0 + Duration::from_millis(900)));
        assert!(page.due(false, t0 + Duration::from_millis(950)));
        assert!(page.due(true, t0 + Duration::from_secs(1)));
        assert!(page.due(true, t0 + Duration::from_secs(1) + TYPING_EVERY));
    }
}
