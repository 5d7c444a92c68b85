//! The `[channels.<name>]` and `[identities.<kind>]` sections: the declared
//! set of channels with their capabilities, and the identity kinds beyond
//! the built-in ones.
//!
//! `chat`, `email` and `sms` are always declared, with capabilities equal
//! to what their adapters do (table below); a `[channels.chat]` table
//! changes only the keys it gives. Any other channel exists only when
//! declared, and must name its identity kind:
//!
//! ```toml
//! [channels.whatsapp]
//! max_text_chars = 4096
//! can_start = true
//! identity = "whatsapp"
//!
//! [identities.whatsapp]
//! normalize = "e164"          # email | e164 | opaque
//! same_person_as = "phone"    # a WhatsApp number is that SMS number's customer
//! ```
//!
//! | key | chat | email | sms | declared channel |
//! |---|---|---|---|---|
//! | `max_text_chars` | `chat.max_text_bytes` | 16384 | `sms.max_segments` × 153 (160 for one) | 4096 |
//! | `attachments` | false | true | false | false |
//! | `max_attachment_bytes` | 0 | `email.max_message_bytes` | 0 | 0 |
//! | `rich_text` | false | false | false | false |
//! | `read_receipts` | true | false | false | false |
//! | `threading` | false | true | false | false |
//! | `can_start` | false | true | true | false |
//! | `quick_replies` | true | false | false | false |
//! | `identity` | `chat_visitor` | `email` | `phone` | required |
//!
//! A text limit is in characters (Unicode scalar values), the unit providers
//! state their limits in (an SMS segment holds 160 or 153 GSM-7
//! characters). `max_text_bytes`, the key's name before, is still read, as
//! characters, and reported by [`super::Config::deprecations`].
//!
//! Channels come from the file only: there is no `OMNI_*` override for a
//! map of tables.

use serde::{Deserialize, Serialize};

use crate::Channel;
use crate::identity::{BUILT_IN_KINDS, DeclaredKind, Normalize};

/// A channel's capabilities, as the parts that route and reply read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelSpec {
    /// Longest text of one message, in characters (Unicode scalar values).
    pub max_text_chars: usize,
    /// Whether messages may carry attachments.
    pub attachments: bool,
    /// Largest attachment, in bytes (0 without attachments).
    pub max_attachment_bytes: usize,
    /// Whether messages may carry formatted text.
    pub rich_text: bool,
    /// Whether the channel reports that the customer read a message.
    pub read_receipts: bool,
    /// Whether replies thread (e.g. email's In-Reply-To).
    pub threading: bool,
    /// Whether the contact center may write to the customer first.
    pub can_start: bool,
    /// Whether the channel shows a bot's quick-reply options as buttons;
    /// without, they are a numbered list in the text (docs/bots.md).
    pub quick_replies: bool,
    /// The identity kind a customer has on this channel.
    pub identity: String,
    /// The identity kinds a message on this channel can go to: `identity`,
    /// the kind it is the same person as, and for SMS the unverified
    /// `sms_sender` (derived, not a key of its own).
    pub reply_kinds: Vec<String>,
}

/// A `[channels.<name>]` table as written: every key optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDecl {
    /// See [`ChannelSpec::max_text_chars`].
    pub max_text_chars: Option<usize>,
    /// The old name of `max_text_chars`, read as characters (deprecated).
    pub max_text_bytes: Option<usize>,
    /// See [`ChannelSpec::attachments`].
    pub attachments: Option<bool>,
    /// See [`ChannelSpec::max_attachment_bytes`].
    pub max_attachment_bytes: Option<usize>,
    /// See [`ChannelSpec::rich_text`].
    pub rich_text: Option<bool>,
    /// See [`ChannelSpec::read_receipts`].
    pub read_receipts: Option<bool>,
    /// See [`ChannelSpec::threading`].
    pub threading: Option<bool>,
    /// See [`ChannelSpec::can_start`].
    pub can_start: Option<bool>,
    /// See [`ChannelSpec::identity`].
    pub identity: Option<String>,
    /// See [`ChannelSpec::quick_replies`].
    pub quick_replies: Option<bool>,
}

/// An `[identities.<kind>]` table: a declared identity kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityKindConfig {
    /// How a raw value of this kind is normalized.
    pub normalize: Normalize,
    /// A kind whose identities are the same person as this kind's with the
    /// same normalized value (`phone` for WhatsApp numbers).
    #[serde(default)]
    pub same_person_as: Option<String>,
}

/// The declared channels, in slot order (built-in ones first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSet {
    channels: Vec<(Channel, ChannelSpec)>,
}

/// A channel that is not in the declared set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("channel {0} is not declared (declare it in [channels.{0}])")]
pub struct UndeclaredChannel(pub Channel);

impl ChannelSet {
    /// `chat`, `email` and `sms` with the default configuration's
    /// capabilities: the set of a configuration without `[channels]`.
    pub fn built_in() -> Self {
        super::Config::default().channel_set()
    }

    /// A set of the given channels and capabilities (a test's or a
    /// simulation's own set); later duplicates are ignored.
    pub fn new(channels: impl IntoIterator<Item = (Channel, ChannelSpec)>) -> Self {
        let mut out: Vec<(Channel, ChannelSpec)> = Vec::new();
        for (channel, spec) in channels {
            if !out.iter().any(|(c, _)| *c == channel) {
                out.push((channel, spec));
            }
        }
        out.sort_by_key(|(c, _)| *c);
        Self { channels: out }
    }

    /// The built-in set plus `extra` channels, each with a declared
    /// channel's default capabilities and no identity kind (a test's set).
    pub fn with_extra(extra: &[Channel]) -> Self {
        let mut all = Self::built_in().channels;
        all.extend(
            extra
                .iter()
                .map(|c| (*c, ChannelDecl::default().spec(*c, None))),
        );
        Self::new(all)
    }

    /// Every declared channel, in slot order.
    pub fn channels(&self) -> impl ExactSizeIterator<Item = Channel> + '_ {
        self.channels.iter().map(|(c, _)| *c)
    }

    /// Every declared channel with its capabilities, in slot order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Channel, &ChannelSpec)> + '_ {
        self.channels.iter().map(|(c, s)| (*c, s))
    }

    /// How many channels are declared.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Never true: the built-in channels are always declared.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// `channel`'s capabilities, if declared.
    pub fn get(&self, channel: Channel) -> Option<&ChannelSpec> {
        self.channels
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| s)
    }

    /// Whether `channel` is declared.
    pub fn contains(&self, channel: Channel) -> bool {
        self.get(channel).is_some()
    }

    /// `channel`'s capabilities, or the error naming it.
    pub fn require(&self, channel: Channel) -> Result<&ChannelSpec, UndeclaredChannel> {
        self.get(channel).ok_or(UndeclaredChannel(channel))
    }

    /// The declared channel named `name`.
    pub fn find(&self, name: &str) -> Option<Channel> {
        self.channels().find(|c| c.as_str() == name)
    }
}

impl Default for ChannelSet {
    fn default() -> Self {
        Self::built_in()
    }
}

impl ChannelDecl {
    /// The spec of `channel` with this table's keys over its defaults
    /// (`config` gives the built-in channels' defaults).
    pub(super) fn spec(&self, channel: Channel, config: Option<&super::Config>) -> ChannelSpec {
        let base = match (channel, config) {
            // The chat server takes customers' texts up to this many bytes,
            // so as many characters bound what a chat conversation carries.
            (Channel::CHAT, Some(config)) => ChannelSpec {
                max_text_chars: config.chat.max_text_bytes,
                read_receipts: true,
                quick_replies: true,
                identity: "chat_visitor".into(),
                ..ChannelSpec::undeclared()
            },
            (Channel::EMAIL, Some(config)) => ChannelSpec {
                max_text_chars: 16 * 1024,
                attachments: true,
                max_attachment_bytes: config.email.max_message_bytes,
                threading: true,
                can_start: true,
                identity: "email".into(),
                ..ChannelSpec::undeclared()
            },
            (Channel::SMS, Some(config)) => ChannelSpec {
                max_text_chars: config.sms.max_text_chars(),
                can_start: true,
                identity: "phone".into(),
                ..ChannelSpec::undeclared()
            },
            _ => ChannelSpec::undeclared(),
        };
        ChannelSpec {
            max_text_chars: self
                .max_text_chars
                .or(self.max_text_bytes)
                .unwrap_or(base.max_text_chars),
            attachments: self.attachments.unwrap_or(base.attachments),
            max_attachment_bytes: self
                .max_attachment_bytes
                .unwrap_or(base.max_attachment_bytes),
            rich_text: self.rich_text.unwrap_or(base.rich_text),
            read_receipts: self.read_receipts.unwrap_or(base.read_receipts),
            threading: self.threading.unwrap_or(base.threading),
            can_start: self.can_start.unwrap_or(base.can_start),
            quick_replies: self.quick_replies.unwrap_or(base.quick_replies),
            identity: self.identity.clone().unwrap_or(base.identity),
            reply_kinds: Vec::new(),
        }
    }
}

impl ChannelSpec {
    /// The capabilities of a declared channel before its keys: text up to
    /// 4096 characters and nothing else; no identity kind.
    fn undeclared() -> Self {
        Self {
            max_text_chars: 4096,
            attachments: false,
            max_attachment_bytes: 0,
            rich_text: false,
            read_receipts: false,
            threading: false,
            can_start: false,
            quick_replies: false,
            identity: String::new(),
            reply_kinds: Vec::new(),
        }
    }
}

impl super::Config {
    /// The declared channels: the built-in ones and every valid
    /// `[channels.<name>]` ([`super::Config::validate`] refuses the others).
    pub fn channel_set(&self) -> ChannelSet {
        let mut all: Vec<(Channel, ChannelSpec)> = Channel::BUILT_IN
            .iter()
            .map(|c| {
                let decl = self.channels.get(c.as_str()).cloned().unwrap_or_default();
                (*c, decl.spec(*c, Some(self)))
            })
            .collect();
        for (name, decl) in &self.channels {
            if let Ok(channel) = Channel::parse(name)
                && !channel.is_built_in()
            {
                all.push((channel, decl.spec(channel, Some(self))));
            }
        }
        for (channel, spec) in &mut all {
            let mut kinds = vec![spec.identity.clone()];
            if let Some(same) = self
                .identities
                .get(&spec.identity)
                .and_then(|k| k.same_person_as.clone())
            {
                kinds.push(same);
            }
            if *channel == Channel::SMS {
                kinds.push("sms_sender".into());
            }
            spec.reply_kinds = kinds;
        }
        ChannelSet::new(all)
    }

    /// Checks `[channels]` and `[identities]`: names, known identity kinds,
    /// limits, and that agents and default queues name declared channels.
    pub(super) fn check_channels(&self) -> Result<(), String> {
        for (kind, decl) in &self.identities {
            let at = format!("identities.{kind}");
            if !crate::channel::is_valid_name(kind) {
                return Err(format!(
                    "{at}: invalid kind name (expected [a-z][a-z0-9_-]{{0,31}})"
                ));
            }
            // `chat` and `sms` are the built-in kinds' key prefixes.
            if BUILT_IN_KINDS.contains(&kind.as_str()) || ["chat", "sms"].contains(&kind.as_str()) {
                return Err(format!("{at}: {kind} is a built-in identity kind"));
            }
            if let Some(same) = &decl.same_person_as
                && !self.is_identity_kind(same)
            {
                return Err(format!(
                    "{at}.same_person_as: unknown identity kind {same:?}"
                ));
            }
        }
        for (name, decl) in &self.channels {
            let at = format!("channels.{name}");
            let channel = Channel::parse(name).map_err(|e| format!("{at}: {e}"))?;
            let spec = decl.spec(channel, Some(self));
            if spec.identity.is_empty() {
                return Err(format!(
                    "{at}.identity: required (the identity kind of its customers)"
                ));
            }
            if !self.is_identity_kind(&spec.identity) {
                return Err(format!(
                    "{at}.identity: unknown identity kind {:?} (declare it in [identities.{}])",
                    spec.identity, spec.identity
                ));
            }
            if decl.max_text_chars.is_some() && decl.max_text_bytes.is_some() {
                return Err(format!(
                    "{at}: max_text_chars and max_text_bytes (its old name) both given; keep max_text_chars"
                ));
            }
            if spec.max_text_chars == 0 {
                return Err(format!("{at}.max_text_chars must be at least 1"));
            }
            if spec.attachments != (spec.max_attachment_bytes > 0) {
                return Err(format!(
                    "{at}: attachments and max_attachment_bytes go together (attachments = true needs a limit above 0)"
                ));
            }
        }
        let set = self.channel_set();
        for agent in &self.agents {
            if let Some(channel) = agent.capacity.keys().find(|c| !set.contains(**c)) {
                return Err(format!(
                    "agents.{}.capacity.{channel}: channel {channel} is not declared (declare it in [channels.{channel}])",
                    agent.id
                ));
            }
        }
        if let Some(channel) = self
            .context
            .default_queue
            .keys()
            .find(|c| !set.contains(**c))
        {
            return Err(format!(
                "context.default_queue.{channel}: channel {channel} is not declared"
            ));
        }
        Ok(())
    }

    /// Keys still read under an old name, one line each naming the key and
    /// what replaces it, for whoever starts the channel to log.
    pub fn deprecations(&self, channel: Channel) -> Vec<String> {
        self.channels
            .get(channel.as_str())
            .filter(|decl| decl.max_text_bytes.is_some())
            .map(|_| {
                vec![format!(
                    "channels.{channel}.max_text_bytes is deprecated: rename it max_text_chars (the limit is in characters)"
                )]
            })
            .unwrap_or_default()
    }

    fn is_identity_kind(&self, kind: &str) -> bool {
        BUILT_IN_KINDS.contains(&kind) || self.identities.contains_key(kind)
    }

    /// The declared identity kinds, as the normalizer takes them.
    pub fn identity_kinds(&self) -> impl Iterator<Item = (String, DeclaredKind)> + '_ {
        self.identities.iter().map(|(kind, decl)| {
            (
                kind.clone(),
                DeclaredKind {
                    normalize: decl.normalize,
                    same_person_as: decl.same_person_as.clone(),
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    const QUEUE: &str = "[[queues]]\nid = \"q\"\n";

    fn load(text: &str) -> Result<Config, String> {
        let config = Config::parse(&format!("{text}\n{QUEUE}"))?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn chat_shows_quick_replies_and_a_declared_channel_may() {
        let config =
            load("[channels.app]\nidentity = \"email\"\nquick_replies = true\n").expect("valid");
        let set = config.channel_set();
        let quick = |c: Channel| set.get(c).map(|s| s.quick_replies);
        assert_eq!(quick(Channel::CHAT), Some(true));
        assert_eq!(quick(Channel::SMS), Some(false));
        assert_eq!(quick(Channel::EMAIL), Some(false));
        let app = Channel::parse("app").expect("name");
        assert_eq!(quick(app), Some(true));
    }

    #[test]
    fn without_a_channels_table_the_built_in_set_is_todays_behavior() {
        let config = load("[chat]\nmax_text_bytes = 1000").expect("valid");
        assert!(config.deprecations(Channel::CHAT).is_empty());
        let set = config.channel_set();
        assert_eq!(set.channels().collect::<Vec<_>>(), Channel::BUILT_IN);
        let chat = set.get(Channel::CHAT).expect("chat");
        assert_eq!(
            (chat.max_text_chars, chat.identity.as_str()),
            (1000, "chat_visitor")
        );
        assert!(chat.read_receipts && !chat.can_start);
        let email = set.get(Channel::EMAIL).expect("email");
        assert!(email.attachments && email.threading && email.can_start);
        assert_eq!(email.max_attachment_bytes, config.email.max_message_bytes);
        let sms = set.get(Channel::SMS).expect("sms");
        assert_eq!(sms.identity, "phone");
        // Ten segments of 153 GSM-7 characters: what the SMS adapter delivers.
        assert_eq!(sms.max_text_chars, 1530);
        assert_eq!(set, ChannelSet::built_in().clone().with_chat_text(1000));
    }

    impl ChannelSet {
        fn with_chat_text(mut self, chars: usize) -> Self {
            self.channels[0].1.max_text_chars = chars;
            self
        }
    }

    #[test]
    fn a_declared_channel_gets_capacity_and_a_built_in_one_changes_only_its_keys() {
        let config = load(
            r#"
            [channels.cfg-whatsapp]
            max_text_chars = 4096
            can_start = true
            identity = "cfg-whatsapp"

            [channels.sms]
            max_text_chars = 640

            [identities.cfg-whatsapp]
            normalize = "e164"
            same_person_as = "phone"

            [[agents]]
            id = "a"
            capacity = { chat = 3, cfg-whatsapp = 2 }
            "#,
        )
        .expect("valid");
        let set = config.channel_set();
        let whatsapp = set.find("cfg-whatsapp").expect("declared");
        assert_eq!(set.len(), 4);
        assert!(set.get(whatsapp).expect("spec").can_start);
        let sms = set.get(Channel::SMS).expect("sms");
        assert_eq!((sms.max_text_chars, sms.can_start), (640, true));
        assert!(config.deprecations(Channel::SMS).is_empty());
        assert_eq!(config.agents[0].capacity[&whatsapp], 2);
        assert_eq!(
            set.require(Channel::parse("cfg-nowhere").expect("name"))
                .unwrap_err()
                .to_string(),
            "channel cfg-nowhere is not declared (declare it in [channels.cfg-nowhere])"
        );
    }

    #[test]
    fn bad_declarations_are_errors_that_name_the_key() {
        let cases = [
            (
                "[[agents]]\nid = \"a\"\ncapacity = { cfg-fax = 1 }",
                "agents.a.capacity.cfg-fax: channel cfg-fax is not declared",
            ),
            (
                "[channels.cfg-app]\nmax_text_chars = 10",
                "channels.cfg-app.identity: required",
            ),
            (
                "[channels.cfg-app]\nidentity = \"email\"\nmax_text_chars = 0",
                "channels.cfg-app.max_text_chars must be at least 1",
            ),
            (
                "[channels.cfg-app]\nidentity = \"email\"\nmax_text_chars = 9\nmax_text_bytes = 9",
                "channels.cfg-app: max_text_chars and max_text_bytes (its old name) both given",
            ),
            (
                "[channels.cfg-app]\nidentity = \"app_user\"",
                "channels.cfg-app.identity: unknown identity kind \"app_user\"",
            ),
            (
                "[channels.Bad]\nidentity = \"email\"",
                "channels.Bad: invalid channel name",
            ),
            (
                "[channels.chat]\nattachments = true",
                "channels.chat: attachments and max_attachment_bytes go together",
            ),
            (
                "[identities.phone]\nnormalize = \"e164\"",
                "identities.phone: phone is a built-in identity kind",
            ),
            (
                "[identities.wa]\nnormalize = \"e164\"\nsame_person_as = \"fax\"",
                "identities.wa.same_person_as: unknown identity kind \"fax\"",
            ),
            (
                "[context]\ndefault_queue = { cfg-gone = \"q\" }",
                "context.default_queue.cfg-gone: channel cfg-gone is not declared",
            ),
        ];
        for (text, want) in cases {
            let err = load(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = load("[channels.chat]\nthreads = true").expect_err("unknown key");
        assert!(err.contains("threads"), "{err}");
        let err = load("[identities.wa]\nnormalize = \"lowercase\"").expect_err("bad rule");
        assert!(err.contains("lowercase"), "{err}");
    }

    #[test]
    fn the_old_byte_key_still_works_as_characters_and_is_reported() {
        let config = load(
            "[channels.cfg-old]\nidentity = \"email\"\nmax_text_bytes = 300\n\
             [channels.sms]\nmax_text_bytes = 160",
        )
        .expect("valid");
        let set = config.channel_set();
        let old = set.find("cfg-old").expect("declared");
        assert_eq!(set.get(old).expect("spec").max_text_chars, 300);
        assert_eq!(set.get(Channel::SMS).expect("sms").max_text_chars, 160);
        assert_eq!(
            config.deprecations(old),
            vec![
                "channels.cfg-old.max_text_bytes is deprecated: rename it max_text_chars (the limit is in characters)"
                    .to_owned()
            ]
        );
        assert!(config.deprecations(Channel::CHAT).is_empty());
    }

    #[test]
    fn the_sms_default_follows_its_segments() {
        let config = load("[sms]\nmax_segments = 1").expect("valid");
        let set = config.channel_set();
        assert_eq!(set.get(Channel::SMS).expect("sms").max_text_chars, 160);
        let config = load("[sms]\nmax_segments = 3").expect("valid");
        let set = config.channel_set();
        assert_eq!(set.get(Channel::SMS).expect("sms").max_text_chars, 459);
    }
}
