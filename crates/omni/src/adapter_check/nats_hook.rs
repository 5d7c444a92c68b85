//! The kit's [`Hook`] over NATS: requests to the adapter's conformance
//! hook carry the token in `Omni-Conformance-Token`; the inbound stream
//! is made unable to store by taking its subjects away (publishes to
//! `omni.inbound.<channel>` then find no stream and fail at once, as in a
//! JetStream outage) and able again by giving them back. Nothing stored
//! is touched. Should the kit die in between, any part that connects to
//! the bus declares the stream again with its subjects.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use async_trait::async_trait;
use omni_adapter::conformance::remote::{Hook, TOKEN_HEADER, hook_subject};
use omni_bus::topology::INBOUND;
use omni_bus_nats::NatsBus;
use omni_core::Channel;

/// See the module doc.
pub struct NatsHook {
    client: async_nats::Client,
    js: jetstream::Context,
    channel: Channel,
    token: String,
    wait: Duration,
}

impl NatsHook {
    /// The hook of `channel`'s adapter on `bus`, reached with `token`;
    /// each request waits `wait` for its answer.
    pub fn new(bus: &Arc<NatsBus>, channel: Channel, token: &str, wait: Duration) -> Self {
        Self {
            client: bus.client().clone(),
            js: bus.jetstream().clone(),
            channel,
            token: token.to_owned(),
            wait,
        }
    }
}

#[async_trait]
impl Hook for NatsHook {
    async fn request(&self, subject: String, payload: Vec<u8>) -> Result<Vec<u8>, String> {
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN_HEADER, self.token.as_str());
        let request = async_nats::Request::new()
            .payload(payload.into())
            .headers(headers)
            .timeout(Some(self.wait));
        let reply = self
            .client
            .send_request(subject.clone(), request)
            .await
            .map_err(|e| {
                format!("no answer on {subject} (is the adapter in conformance mode?): {e}")
            })?;
        Ok(reply.payload.to_vec())
    }

    async fn set_storing(&self, storing: bool) -> Result<(), String> {
        let failed = |e: String| format!("cannot update stream {}: {e}", INBOUND.name);
        let mut stream = self
            .js
            .get_stream(INBOUND.name)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut config = stream
            .info()
            .await
            .map_err(|e| failed(e.to_string()))?
            .config
            .clone();
        config.subjects = if storing {
            INBOUND.subjects.iter().map(|s| (*s).to_owned()).collect()
        } else {
            vec![hook_subject(self.channel, "paused")]
        };
        self.js
            .update_stream(&config)
            .await
            .map_err(|e| failed(e.to_string()))?;
        Ok(())
    }
}
