//! The chat adapter's section.

use serde::Deserialize;

/// Chat adapter settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Largest message text, in bytes, a customer may send.
    pub max_text_bytes: usize,
    /// Largest WebSocket frame, in bytes; larger frames close the connection.
    pub max_frame_bytes: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_text_bytes: 4096,
            max_frame_bytes: 64 * 1024,
        }
    }
}
