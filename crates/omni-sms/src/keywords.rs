//! Opt-out and opt-in keywords: a message whose whole text, trimmed and
//! compared without case, is one of them changes whether the sender may be
//! texted.

use omni_core::OptChange;

/// Words that stop messages to the sender.
pub const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];

/// Words that allow messages to the sender again.
pub const OPT_IN: &[&str] = &["START", "UNSTOP", "YES", "OPTIN"];

/// The change `text` asks for; `None` for an ordinary message.
pub fn opt_change(text: &str) -> Option<OptChange> {
    let word = text.trim();
    let is = |list: &[&str]| list.iter().any(|k| k.eq_ignore_ascii_case(word));
    if is(OPT_OUT) {
        Some(OptChange::Out)
    } else if is(OPT_IN) {
        Some(OptChange::In)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_whole_trimmed_text_without_case() {
        for text in [
            "STOP",
            "stop",
            " Stop\n",
            "unsubscribe",
            "QUIT",
            "OptOut",
            "revoke",
        ] {
            assert_eq!(opt_change(text), Some(OptChange::Out), "{text:?}");
        }
        for text in ["START", "start ", "Unstop", "yes", "OPTIN"] {
            assert_eq!(opt_change(text), Some(OptChange::In), "{text:?}");
        }
        for text in [
            "please stop",
            "STOP!",
            "stopping",
            "",
            "S T O P",
            "yes please",
            "STOPP",
        ] {
            assert_eq!(opt_change(text), None, "{text:?}");
        }
    }
}
