//! Messages as the desk hands them to a page: [`MessageView`] with the
//! email HTML sanitized again on the way out. The email adapter sanitizes
//! HTML before storing it, but a body stored by an older version (before a
//! sanitizer fix, such as the tab-in-URL tracking pixel) or written to the
//! store by other means would otherwise reach the agent's browser as
//! stored; sanitizing on read applies today's rules to every body.

use omni_proto::common as pb;
use omni_proto::view::MessageView;

/// The view of `m` with its email HTML sanitized by today's rules
/// (`email.allow_remote_images`); `agent_name` resolves agent ids.
pub fn message_view(
    m: &pb::Message,
    allow_remote_images: bool,
    agent_name: impl Fn(&str) -> Option<String>,
) -> MessageView {
    let mut view = MessageView::new(m, agent_name);
    if let Some(email) = view.email.as_mut()
        && !email.html.is_empty()
    {
        email.html = omni_email::html::sanitize(&email.html, allow_remote_images);
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(html: &str) -> pb::Message {
        pb::Message {
            id: "m_1".into(),
            conversation_id: "c_1".into(),
            text: "hello".into(),
            email: Some(pb::EmailView {
                html: html.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_stored_unsanitized_body_is_served_sanitized() {
        let raw = "<p onclick=\"steal()\">Hi</p><script>steal()</script>\
                   <img src=\"ht&#9;tps://tracker.example/p.gif\"><img src=\"cid:logo\">";
        let view = message_view(&stored(raw), false, |_| None);
        let html = view.email.map(|e| e.html).unwrap_or_default();
        assert!(html.contains("<p>Hi</p>"), "{html}");
        for gone in ["script", "steal", "onclick", "tracker.example"] {
            assert!(!html.contains(gone), "{gone} left in {html}");
        }
        assert!(html.contains("cid:logo"), "inline images stay: {html}");
    }

    #[test]
    fn remote_images_follow_the_configuration_and_plain_text_is_untouched() {
        let raw = "<img src=\"https://cdn.example/logo.png\">";
        let allowed = message_view(&stored(raw), true, |_| None);
        assert!(
            allowed
                .email
                .is_some_and(|e| e.html.contains("cdn.example")),
            "allowed remote images stay"
        );
        let plain = message_view(
            &pb::Message {
                text: "no email".into(),
                ..Default::default()
            },
            false,
            |_| None,
        );
        assert!(plain.email.is_none());
    }
}
