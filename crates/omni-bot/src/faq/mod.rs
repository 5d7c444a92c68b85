//! The built-in FAQ bot: answers from a question-and-answer file, asks for
//! the fields its queue declares, and hands off otherwise. The reference
//! implementation of the bot protocol (docs/bots.md).
//!
//! # Layout
//! - [`file`]: the FAQ file's format, read and checked ([`Faq`]).
//! - [`matching`]: normalized words and the overlap score, hand-written
//!   (its doc says why).
//! - [`flow`]: what the bot says on each turn, from the turn alone.
//! - [`texts`]: the bot's own phrases per language.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use omni_proto::bot::{BotReply, BotTurn};

use crate::runner::{Bot, BotError};

pub mod file;
pub mod flow;
pub mod matching;
pub mod texts;

#[cfg(test)]
mod tests;

pub use file::{Faq, FaqError};

/// The FAQ bot answering from one [`Faq`].
#[derive(Debug, Clone)]
pub struct FaqBot {
    faq: Arc<Faq>,
}

impl FaqBot {
    /// The bot answering from `faq`.
    pub fn new(faq: Faq) -> Self {
        Self { faq: Arc::new(faq) }
    }

    /// The bot answering from the FAQ file at `path`.
    pub fn load(path: &Path) -> Result<Self, FaqError> {
        Faq::load(path).map(Self::new)
    }

    /// Its questions and answers.
    pub fn faq(&self) -> &Faq {
        &self.faq
    }
}

#[async_trait]
impl Bot for FaqBot {
    async fn turn(&self, turn: BotTurn) -> Result<BotReply, BotError> {
        Ok(flow::reply(&self.faq, &turn))
    }
}
