//! An adapter known only by what it declares and the bus it is on: the
//! subject of `omni adapter-check`, for adapters out of process (in any
//! language). The kit cannot make such an adapter's provider deliver a
//! customer's message, so the rules about the inbound side are skipped
//! and the rest run over the documented subjects.

use async_trait::async_trait;
use omni_proto::common as pb;

use super::{CustomerMessage, ProviderAnswer, Subject};
use crate::Capabilities;

/// A subject declared from outside (command-line flags).
#[derive(Debug, Clone)]
pub struct Declared {
    /// What the adapter declares.
    pub capabilities: Capabilities,
    /// A recipient its provider takes replies for.
    pub recipient: pb::Identity,
    /// A recipient its provider refuses, and (part of) the reason.
    pub refused: Option<(pb::Identity, String)>,
}

#[async_trait]
impl Subject for Declared {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn customer(&self) -> (String, pb::Identity) {
        (String::new(), self.recipient.clone())
    }

    async fn customer_writes(&self, _message: &CustomerMessage) -> ProviderAnswer {
        ProviderAnswer::NotAcknowledged {
            retryable: false,
            detail: "the kit does not drive this adapter's provider".into(),
        }
    }

    fn recipient(&self) -> pb::Identity {
        self.recipient.clone()
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        self.refused.clone()
    }

    fn drives_inbound(&self) -> bool {
        false
    }
}
