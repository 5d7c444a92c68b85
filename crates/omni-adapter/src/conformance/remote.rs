//! An adapter out of process (in any language), known by what it declares
//! and driven through its conformance hook: the subject of
//! `omni adapter-check`.
//!
//! An adapter started in conformance mode (an explicit flag, never in
//! production) answers core NATS requests on
//! `omni.adapter.conformance.<channel>.<what>` ([`hook_subject`]) that
//! carry the token it was given in the [`TOKEN_HEADER`] header:
//!
//! | what | payload | reply | the adapter |
//! |---|---|---|---|
//! | `customer_writes` | `adapter.v1.ConformanceCustomerMessage` | `adapter.v1.ConformanceAnswer` | takes the message exactly as if its provider delivered it (the same code path) and answers what the provider got |
//! | `announce` | empty | `adapter.v1.ConformanceAnswer` | publishes its `Announcement` again |
//!
//! A request without the token, or with another, gets a `ConformanceAnswer`
//! with `refused` set, and nothing else happens. Without a hook
//! ([`Declared::hook`] `None`) the rules about the inbound side are skipped.
//!
//! The kit reaches the hook and the bus's inbound stream through a
//! [`Hook`], which the caller implements for its bus (NATS in
//! `omni adapter-check`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bus::Bus;
use omni_bus::topology::subjects;
use omni_core::Channel;
use omni_proto::adapter as adapter_pb;
use omni_proto::common as pb;
use prost::Message as _;

use super::{CustomerMessage, ProviderAnswer, Subject};
use crate::Capabilities;

/// The header that carries the conformance token on every hook request.
pub const TOKEN_HEADER: &str = "Omni-Conformance-Token";

/// The hook subject of `channel`'s adapter for `what` (`customer_writes`,
/// `announce`).
pub fn hook_subject(channel: Channel, what: &str) -> String {
    format!("omni.adapter.conformance.{channel}.{what}")
}

/// How the kit reaches an adapter out of process beyond the bus it shares
/// with it.
#[async_trait]
pub trait Hook: Send + Sync {
    /// Sends `payload` on the hook's `subject` with the conformance token;
    /// the reply's payload, or why none came.
    async fn request(&self, subject: String, payload: Vec<u8>) -> Result<Vec<u8>, String>;

    /// Makes the bus's inbound stream refuse (`false`) or store again
    /// (`true`) the adapter's messages, as an outage of the stream would.
    async fn set_storing(&self, storing: bool) -> Result<(), String>;
}

/// A subject declared from outside (command-line flags, an announcement).
#[derive(Clone)]
pub struct Declared {
    /// What the adapter declares.
    pub capabilities: Capabilities,
    /// A customer: the address the provider gives, and the identity the
    /// canonical message must carry for it.
    pub customer: (String, pb::Identity),
    /// A recipient its provider takes replies for.
    pub recipient: pb::Identity,
    /// A recipient its provider refuses, and (part of) the reason.
    pub refused: Option<(pb::Identity, String)>,
    /// The adapter's conformance hook; `None` skips the inbound rules.
    pub hook: Option<Arc<dyn Hook>>,
}

/// A hook's answer to a request, or why it refused it.
async fn ask(
    hook: &dyn Hook,
    subject: String,
    payload: Vec<u8>,
) -> Result<adapter_pb::ConformanceAnswer, String> {
    let reply = hook.request(subject.clone(), payload).await?;
    let answer = adapter_pb::ConformanceAnswer::decode(reply.as_slice())
        .map_err(|e| format!("an undecodable answer on {subject}: {e}"))?;
    if answer.refused.is_empty() {
        Ok(answer)
    } else {
        Err(format!(
            "the conformance hook refused the request: {}",
            answer.refused
        ))
    }
}

#[async_trait]
impl Subject for Declared {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn customer(&self) -> (String, pb::Identity) {
        self.customer.clone()
    }

    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer {
        let Some(hook) = &self.hook else {
            return ProviderAnswer::NotAcknowledged {
                retryable: false,
                detail: "the kit has no conformance hook to drive this adapter's provider".into(),
            };
        };
        let request = adapter_pb::ConformanceCustomerMessage {
            provider_message_id: message.provider_message_id.clone(),
            from: message.from.clone(),
            text: message.text.clone(),
        };
        let subject = hook_subject(self.capabilities.channel, "customer_writes");
        match ask(hook.as_ref(), subject, request.encode_to_vec()).await {
            Ok(answer) if answer.acknowledged => ProviderAnswer::Acknowledged,
            Ok(answer) => ProviderAnswer::NotAcknowledged {
                retryable: answer.retryable,
                detail: answer.detail,
            },
            Err(detail) => ProviderAnswer::NotAcknowledged {
                retryable: false,
                detail,
            },
        }
    }

    fn recipient(&self) -> pb::Identity {
        self.recipient.clone()
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        self.refused.clone()
    }

    fn drives_inbound(&self) -> bool {
        self.hook.is_some()
    }

    async fn set_storing(&self, storing: bool) -> Result<(), String> {
        match &self.hook {
            Some(hook) => hook.set_storing(storing).await,
            None => Ok(()),
        }
    }
}

/// The capabilities `channel`'s adapter announces on
/// `omni.adapter.announce.<channel>`, asked for again through its hook;
/// an error when the hook refuses or no announcement comes within `wait`.
pub async fn announced(
    bus: &dyn Bus,
    hook: &dyn Hook,
    channel: Channel,
    wait: Duration,
) -> Result<Capabilities, String> {
    let mut announcements = bus
        .subscribe(&subjects::adapter_announce(channel))
        .await
        .map_err(|e| e.to_string())?;
    ask(hook, hook_subject(channel, "announce"), Vec::new()).await?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, announcements.next()).await;
        let Ok(Some(message)) = next else {
            return Err(format!(
                "no announcement on {} within {wait:?}",
                subjects::adapter_announce(channel)
            ));
        };
        let Ok(announcement) = adapter_pb::Announcement::decode(message.payload.as_ref()) else {
            continue;
        };
        if let Some(caps) = announcement.capabilities {
            return Capabilities::try_from(&caps).map_err(|e| e.to_string());
        }
    }
}
