//! How a customer is known on a channel, and how raw addresses become
//! identities.
//!
//! Every identity that enters the system goes through [`IdentityNormalizer`]
//! first, so two spellings of one address are one identity:
//!
//! - **email**: trimmed; the local part is kept exactly as written (RFC 5321
//!   leaves its case to the receiving host); the domain is IDNA-normalized to
//!   lowercase ASCII, so `Ana@BÜCHER.example` and `Ana@xn--bcher-kva.example`
//!   are the same identity `email:Ana@xn--bcher-kva.example`.
//! - **phone**: parsed with the `phonenumber` library (libphonenumber's
//!   metadata) and written in E.164 (`+15555550123`); a national number
//!   (`(202) 555-0143`) is read in the configured default region.
//! - **chat visitor**: trimmed, 1-128 visible ASCII characters.
//! - **SMS sender** (unverified): an SMS gateway's sender that is not a
//!   valid phone number (a short code, an alphanumeric sender, a number the
//!   numbering plan does not know): kept as given, only trimmed, without
//!   control characters and cut to 64 bytes. Its texts are never dropped; the desk shows
//!   the identity as unverified.
//!
//! - **declared kinds** (`[identities.<kind>]`, e.g. `whatsapp`): normalized
//!   by their rule (`email`, `e164` or `opaque`, the latter like a chat
//!   visitor id), keyed `<kind>:<value>`. A kind declared `same_person_as`
//!   another becomes that kind's identity: a WhatsApp number declared the
//!   same person as `phone` *is* the phone identity `phone:+1...`, so the
//!   customer an SMS number belongs to is the customer that number writes
//!   as on WhatsApp.
//!
//! Normalizing a normalized identity returns it unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Channel;

/// Longest accepted email address, in bytes (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest accepted local part of an email address, in bytes.
pub const MAX_LOCAL_PART_BYTES: usize = 64;
/// Longest accepted raw phone number input, in bytes.
pub const MAX_PHONE_INPUT_BYTES: usize = 64;
/// Longest accepted chat visitor id, in bytes.
pub const MAX_VISITOR_BYTES: usize = 128;

/// The built-in identity kinds, as [`Identity::kind`] names them.
pub const BUILT_IN_KINDS: [&str; 4] = ["chat_visitor", "email", "phone", "sms_sender"];

/// How a declared identity kind's raw values are normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// As an email address (see the module docs).
    Email,
    /// As a phone number, to E.164.
    E164,
    /// Kept as given: trimmed, 1-128 visible ASCII characters.
    Opaque,
}

/// One identity of a customer. A customer may have many. Serialized as
/// `{"kind": ..., "value": ...}` (a declared kind under its own name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    /// A web chat visitor id, issued by the chat adapter.
    ChatVisitor(String),
    /// An email address.
    Email(String),
    /// A phone number in E.164 form.
    Phone(String),
    /// An SMS sender that is not a valid phone number, as the gateway gave
    /// it: unverified (see the module docs).
    SmsSender(String),
    /// An identity of a kind declared in `[identities.<kind>]`.
    Declared {
        /// The kind's name.
        kind: String,
        /// The normalized value.
        value: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Tagged<'a> {
    kind: std::borrow::Cow<'a, str>,
    value: std::borrow::Cow<'a, str>,
}

impl Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Tagged {
            kind: self.kind().into(),
            value: self.value().into(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = Tagged::deserialize(d)?;
        Ok(Identity::of_kind(&t.kind, t.value.into_owned()))
    }
}

impl Identity {
    /// The identity of kind `kind` (built in or declared) with `value`, as
    /// given (not normalized).
    pub fn of_kind(kind: &str, value: String) -> Identity {
        match kind {
            "chat_visitor" => Identity::ChatVisitor(value),
            "email" => Identity::Email(value),
            "phone" => Identity::Phone(value),
            "sms_sender" => Identity::SmsSender(value),
            other => Identity::Declared {
                kind: other.to_owned(),
                value,
            },
        }
    }

    /// A stable key, unique across kinds: `chat:<id>`, `email:<addr>`,
    /// `phone:<e164>`, `sms:<sender>`, `<kind>:<value>` for a declared kind.
    pub fn key(&self) -> String {
        match self {
            Identity::ChatVisitor(v) => format!("chat:{v}"),
            Identity::Email(v) => format!("email:{v}"),
            Identity::Phone(v) => format!("phone:{v}"),
            Identity::SmsSender(v) => format!("sms:{v}"),
            Identity::Declared { kind, value } => format!("{kind}:{value}"),
        }
    }

    /// The channel a message to this identity goes out on: chat, email or
    /// SMS for the built-in kinds, the channel named like a declared kind
    /// if there is one.
    pub fn channel(&self) -> Option<Channel> {
        match self {
            Identity::ChatVisitor(_) => Some(Channel::CHAT),
            Identity::Email(_) => Some(Channel::EMAIL),
            Identity::Phone(_) | Identity::SmsSender(_) => Some(Channel::SMS),
            Identity::Declared { kind, .. } => Channel::known(kind).ok(),
        }
    }

    /// The raw value without its kind.
    pub fn value(&self) -> &str {
        match self {
            Identity::ChatVisitor(v)
            | Identity::Email(v)
            | Identity::Phone(v)
            | Identity::SmsSender(v) => v,
            Identity::Declared { value, .. } => value,
        }
    }

    /// The kind's name: `chat_visitor`, `email`, `phone`, `sms_sender` or
    /// a declared kind's.
    pub fn kind(&self) -> &str {
        match self {
            Identity::ChatVisitor(_) => "chat_visitor",
            Identity::Email(_) => "email",
            Identity::Phone(_) => "phone",
            Identity::SmsSender(_) => "sms_sender",
            Identity::Declared { kind, .. } => kind,
        }
    }

    /// Whether the value was checked to be what its kind says (every kind
    /// but an SMS sender that is not a valid phone number).
    pub fn is_verified(&self) -> bool {
        !matches!(self, Identity::SmsSender(_))
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Why a raw value is not a valid identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not a usable email address.
    #[error("invalid email address {value:?}: {reason}")]
    Email {
        /// The value as given (truncated when very long).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a valid phone number.
    #[error("invalid phone number {value:?}: {reason}")]
    Phone {
        /// The value as given (truncated when very long).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not even an unverified SMS sender.
    #[error("invalid sms sender {value:?}: {reason}")]
    SmsSender {
        /// The value as given (truncated when very long).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a chat visitor id.
    #[error("invalid chat visitor id {value:?}: {reason}")]
    ChatVisitor {
        /// The value as given (truncated when very long).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Not a valid value of a declared kind.
    #[error("invalid {kind} identity {value:?}: {reason}")]
    Declared {
        /// The kind.
        kind: String,
        /// The value as given (truncated when very long).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A kind that is neither built in nor declared.
    #[error("unknown identity kind {0:?}")]
    UnknownKind(String),
}

/// A declared identity kind: how it normalizes, and the kind it is the
/// same person as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredKind {
    /// The normalization rule.
    pub normalize: Normalize,
    /// The kind whose identity this one becomes.
    pub same_person_as: Option<String>,
}

/// A region (ISO 3166-1 alpha-2, e.g. `US`, `DE`) whose national number
/// format phone numbers without a `+` country code are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl FromStr for Region {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_uppercase();
        phonenumber::country::Id::from_str(&code)
            .map(Region)
            .map_err(|_| format!("unknown region {s:?} (expected an ISO 3166-1 code such as US)"))
    }
}

impl Region {
    /// The region's two-letter code.
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

/// Turns raw addresses into normalized [`Identity`] values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityNormalizer {
    default_region: Option<Region>,
    kinds: Arc<BTreeMap<String, DeclaredKind>>,
}

impl IdentityNormalizer {
    /// A normalizer reading national phone numbers in `default_region`;
    /// without one, phone numbers need a `+` country code.
    pub fn new(default_region: Option<Region>) -> Self {
        Self {
            default_region,
            kinds: Arc::default(),
        }
    }

    /// This normalizer also knowing the declared identity `kinds`.
    pub fn with_kinds(mut self, kinds: impl IntoIterator<Item = (String, DeclaredKind)>) -> Self {
        self.kinds = Arc::new(kinds.into_iter().collect());
        self
    }

    /// The configured default region.
    pub fn default_region(&self) -> Option<Region> {
        self.default_region
    }

    /// Normalizes an identity of any kind (see the module docs).
    pub fn normalize(&self, identity: &Identity) -> Result<Identity, IdentityError> {
        match identity {
            Identity::Email(v) => self.email(v),
            Identity::Phone(v) => self.phone(v),
            Identity::ChatVisitor(v) => self.chat_visitor(v),
            Identity::SmsSender(v) => self.sms_sender(v),
            Identity::Declared { kind, value } => self.declared(kind, value),
        }
    }

    /// An identity of declared kind `kind` from a raw value: normalized by
    /// the kind's rule, then, for a kind declared the same person as
    /// another, that kind's identity (see the module docs).
    pub fn declared(&self, kind: &str, raw: &str) -> Result<Identity, IdentityError> {
        let Some(declared) = self.kinds.get(kind) else {
            return Err(IdentityError::UnknownKind(shown(kind)));
        };
        let fail = |reason: String| IdentityError::Declared {
            kind: kind.to_owned(),
            value: shown(raw),
            reason,
        };
        let value = match declared.normalize {
            Normalize::Email => normalize_email(raw).map_err(fail)?,
            Normalize::E164 => normalize_phone(raw, self.default_region).map_err(fail)?,
            Normalize::Opaque => opaque(raw).map_err(fail)?,
        };
        let target = declared.same_person_as.as_deref().unwrap_or(kind);
        Ok(Identity::of_kind(target, value))
    }

    /// The identity of an SMS sender: a phone identity (E.164) when `raw`
    /// is a valid number, else an unverified [`Identity::SmsSender`] with
    /// the reason it is not a phone number.
    pub fn sms_from(&self, raw: &str) -> Result<(Identity, Option<String>), IdentityError> {
        match normalize_phone(raw, self.default_region) {
            Ok(e164) => Ok((Identity::Phone(e164), None)),
            Err(reason) => Ok((self.sms_sender(raw)?, Some(reason))),
        }
    }

    /// An unverified SMS sender, kept as given: trimmed, control
    /// characters removed, cut to 64 bytes. Only an empty sender is refused.
    pub fn sms_sender(&self, raw: &str) -> Result<Identity, IdentityError> {
        let mut v: String = raw.trim().chars().filter(|c| !c.is_control()).collect();
        let mut end = v.len().min(MAX_PHONE_INPUT_BYTES);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        v.truncate(end);
        let v = v.trim();
        if v.is_empty() {
            return Err(IdentityError::SmsSender {
                value: shown(raw),
                reason: "must not be empty".to_owned(),
            });
        }
        Ok(Identity::SmsSender(v.to_owned()))
    }

    /// An email identity from a raw address.
    pub fn email(&self, raw: &str) -> Result<Identity, IdentityError> {
        normalize_email(raw)
            .map(Identity::Email)
            .map_err(|reason| IdentityError::Email {
                value: shown(raw),
                reason,
            })
    }

    /// A phone identity (E.164) from a raw number.
    pub fn phone(&self, raw: &str) -> Result<Identity, IdentityError> {
        normalize_phone(raw, self.default_region)
            .map(Identity::Phone)
            .map_err(|reason| IdentityError::Phone {
                value: shown(raw),
                reason,
            })
    }

    /// A chat visitor identity.
    pub fn chat_visitor(&self, raw: &str) -> Result<Identity, IdentityError> {
        opaque(raw)
            .map(Identity::ChatVisitor)
            .map_err(|reason| IdentityError::ChatVisitor {
                value: shown(raw),
                reason,
            })
    }
}

/// A value kept as given: trimmed, 1-128 visible ASCII characters.
fn opaque(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        Err("must not be empty".to_owned())
    } else if v.len() > MAX_VISITOR_BYTES {
        Err(format!("longer than {MAX_VISITOR_BYTES} bytes"))
    } else if !v.bytes().all(|b| b.is_ascii_graphic()) {
        Err("only visible ASCII characters are allowed".to_owned())
    } else {
        Ok(v.to_owned())
    }
}

/// The value for an error message, cut to a readable length.
fn shown(raw: &str) -> String {
    const MAX: usize = 80;
    if raw.len() <= MAX {
        return raw.to_owned();
    }
    let mut end = MAX;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &raw[..end])
}

fn normalize_email(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.len() > MAX_EMAIL_BYTES * 4 {
        return Err(format!("longer than {MAX_EMAIL_BYTES} bytes"));
    }
    let (local, domain) = v
        .rsplit_once('@')
        .ok_or_else(|| "missing @ between local part and domain".to_owned())?;
    if local.is_empty() {
        return Err("empty local part".into());
    }
    if local.len() > MAX_LOCAL_PART_BYTES {
        return Err(format!(
            "local part longer than {MAX_LOCAL_PART_BYTES} bytes"
        ));
    }
    if let Some(c) = local.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '<' | '>' | '@' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\'
            )
    }) {
        return Err(format!("local part contains {c:?}"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("local part has a misplaced dot".into());
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err("empty domain".into());
    }
    let ascii = idna::domain_to_ascii(domain)
        .map_err(|_| format!("domain {domain:?} is not a valid internationalized domain name"))?;
    check_ascii_domain(&ascii)?;
    let address = format!("{local}@{ascii}");
    if address.len() > MAX_EMAIL_BYTES {
        return Err(format!("longer than {MAX_EMAIL_BYTES} bytes"));
    }
    Ok(address)
}

/// A domain after IDNA: lowercase LDH labels, at least two of them.
fn check_ascii_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() || domain.len() > 253 {
        return Err("domain must be 1-253 bytes".into());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("domain {domain:?} has no dot"));
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(format!(
                "domain label {label:?} is not a valid host name label"
            ));
        }
    }
    Ok(())
}

fn normalize_phone(raw: &str, region: Option<Region>) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.len() > MAX_PHONE_INPUT_BYTES {
        return Err(format!("longer than {MAX_PHONE_INPUT_BYTES} bytes"));
    }
    if !v.starts_with('+') && region.is_none() {
        return Err("no country code (+...) and no context.default_region configured".into());
    }
    // The parser is third-party code fed with customer input: a panic in it
    // must become a rejected number, not a crashed consumer.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let number = phonenumber::parse(region.map(|r| r.0), v).map_err(|e| e.to_string())?;
        if !phonenumber::is_valid(&number) {
            return Err("not a valid number for its region".to_owned());
        }
        Ok(number.format().mode(phonenumber::Mode::E164).to_string())
    }));
    match parsed {
        Ok(result) => result,
        Err(_) => Err("cannot be parsed".into()),
    }
}

#[cfg(test)]
mod tests;
