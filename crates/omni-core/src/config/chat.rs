//! The chat adapter's section: text and frame limits, customers'
//! attachments, and the websites that embed the chat widget
//! (`[chat.sites.<id>]`, see [`SiteConfig`]).

use std::collections::BTreeMap;

use serde::Deserialize;

pub use super::chat_sites::{LANGUAGES, Position, SiteConfig, SiteText};

/// Chat adapter settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Largest message text, in bytes, a customer may send.
    pub max_text_bytes: usize,
    /// Largest WebSocket frame, in bytes; larger frames close the connection.
    pub max_frame_bytes: usize,
    /// Largest file, in bytes, a customer may attach (images and PDF); 0
    /// turns attachments off. The bus carries at most 1 MiB per message.
    pub max_attachment_bytes: usize,
    /// The websites that may embed the chat widget, by site id (the
    /// `data-site` of the script tag).
    pub sites: BTreeMap<String, SiteConfig>,
}

/// Largest `chat.max_attachment_bytes`: the file must fit in one bus
/// message (1 MiB) with its envelope.
pub const MAX_ATTACHMENT_LIMIT: usize = 900 * 1024;

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_text_bytes: 4096,
            max_frame_bytes: 64 * 1024,
            max_attachment_bytes: 512 * 1024,
            sites: BTreeMap::new(),
        }
    }
}

impl ChatConfig {
    /// Checks the attachment limit and every site against the configured
    /// `topics` (topic id to queue); the message names the key.
    pub fn check(&self, topics: &BTreeMap<String, String>) -> Result<(), String> {
        if self.max_attachment_bytes > MAX_ATTACHMENT_LIMIT {
            return Err(format!(
                "chat.max_attachment_bytes ({}) must be at most {MAX_ATTACHMENT_LIMIT}",
                self.max_attachment_bytes
            ));
        }
        for (id, site) in &self.sites {
            site.check(id, topics)?;
        }
        Ok(())
    }
}
