//! NATS subject matching: tokens separated by `.`, `*` matches one token,
//! `>` (last) matches one or more; and which subjects one can publish to.

/// Whether `subject` matches `filter`.
pub fn matches(filter: &str, subject: &str) -> bool {
    let mut f = filter.split('.');
    let mut s = subject.split('.');
    loop {
        match (f.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether `subject` is a concrete subject one can publish to: no empty
/// token, no wildcard, no whitespace.
pub fn publishable(subject: &str) -> bool {
    subject.split('.').all(|token| {
        !token.is_empty() && token != "*" && token != ">" && !token.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::{matches, publishable};

    #[test]
    fn wildcards_and_empty_tokens_are_not_publishable() {
        assert!(publishable("omni.inbound.chat"));
        for bad in [
            "omni.inbound.*",
            "omni.>",
            "omni..x",
            "omni..chat",
            "",
            "omni.in bound",
        ] {
            assert!(!publishable(bad), "{bad:?}");
        }
    }

    #[test]
    fn wildcards() {
        assert!(matches("omni.inbound.>", "omni.inbound.chat"));
        assert!(matches("omni.inbound.>", "omni.inbound.chat.x"));
        assert!(!matches("omni.inbound.>", "omni.inbound"));
        assert!(matches("omni.routing.*", "omni.routing.request"));
        assert!(!matches("omni.routing.*", "omni.routing.request.x"));
        assert!(matches("a.b", "a.b"));
        assert!(!matches("a.b", "a.c"));
        assert!(!matches("a.b", "a.b.c"));
    }
}
