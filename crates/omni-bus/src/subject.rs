//! NATS subject matching: tokens separated by `.`, `*` matches one token,
//! `>` (last) matches one or more.

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

#[cfg(test)]
mod tests {
    use super::matches;

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
