//! Sanitizing HTML bodies before any agent sees them.
//!
//! Built on `ammonia` (an allow-list HTML sanitizer on a spec-compliant
//! parser): scripts, styles, forms, frames, event handlers (`on*`),
//! `style` attributes and `javascript:` URLs are removed; links get
//! `rel="noopener noreferrer nofollow"` and open in a new tab. Remote
//! images are removed unless `email.allow_remote_images` is set: loading
//! one would tell the sender when, where and that an agent read the mail.
//! Only inline images (`cid:`) and `data:` images stay, judged on the URL
//! as the browser will read it (see [`browser_url`]): the parser has
//! already decoded character references (`ht&#9;tps:`), and the WHATWG URL
//! parser strips ASCII tabs and newlines anywhere and C0 controls and
//! spaces at the ends, and compares schemes case-insensitively.

use std::borrow::Cow;
use std::collections::HashSet;

/// URL schemes kept in links and images.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto", "tel", "cid", "data"];

/// The sanitized form of `html`, safe to show to an agent.
pub fn sanitize(html: &str, allow_remote_images: bool) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(URL_SCHEMES.iter().copied().collect::<HashSet<_>>())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            filter_attribute(element, attribute, value, allow_remote_images)
        });
    builder.clean(html).to_string()
}

/// An attribute value (character references already decoded by the HTML
/// parser) as the WHATWG URL parser reads it: leading and trailing C0
/// controls and spaces removed, every ASCII tab and newline removed, and
/// lowercased (for comparing schemes).
pub fn browser_url(value: &str) -> String {
    value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .to_ascii_lowercase()
}

fn filter_attribute<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
    allow_remote_images: bool,
) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        ("img", "src") => {
            let url = browser_url(value);
            // An allow-list: whatever is not inline could load from
            // somewhere (http:, https:, protocol-relative `//` or `\\`, ...).
            let inline = url.starts_with("cid:") || url.starts_with("data:");
            if inline || allow_remote_images {
                Some(Cow::Borrowed(value))
            } else {
                None
            }
        }
        // Only images may carry data: URLs (a data: link can carry a page).
        (_, "href") if browser_url(value).starts_with("data:") => None,
        _ => Some(Cow::Borrowed(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn removes_scripts_handlers_and_javascript_urls() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script></p>
            <a href="javascript:alert(1)">x</a><img src=x onerror="alert(1)">
            <style>body{}</style><iframe src="https://evil.test"></iframe>
            <form action="https://evil.test"><input></form>"#;
        let clean = sanitize(dirty, false);
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript",
            "style",
            "iframe",
            "form",
            "input",
        ] {
            assert!(!clean.contains(bad), "{bad} left in {clean}");
        }
        assert!(clean.contains("<p>Hi</p>"), "{clean}");
    }

    #[test]
    fn links_get_noopener_and_remote_images_go() {
        let clean = sanitize(
            r#"<a href="https://example.com/x">site</a><img src="https://track.test/p.gif" alt="t"><img src="//track.test/q.gif"><img src="cid:logo@x" alt="logo">"#,
            false,
        );
        assert!(
            clean.contains(r#"rel="noopener noreferrer nofollow""#),
            "{clean}"
        );
        assert!(clean.contains(r#"target="_blank""#), "{clean}");
        assert!(!clean.contains("track.test"), "{clean}");
        assert!(clean.contains("cid:logo@x"), "{clean}");
    }

    /// Every way of writing a remote URL that the browser reads as one: a
    /// tab or newline inside the scheme (raw or as a character reference),
    /// leading controls and spaces, upper case, protocol-relative.
    #[test]
    fn remote_images_go_however_the_url_is_written() {
        let variants = [
            "ht&#9;tps://track.test/p.gif",
            "ht&Tab;tps://track.test/p.gif",
            "ht&#x0A;tp://track.test/p.gif",
            "h\ttt\rp://track.test/p.gif",
            "&#1;&#32;https://track.test/p.gif",
            "\u{0}https://track.test/p.gif",
            "HTTPS://track.test/p.gif",
            "/&#9;/track.test/p.gif",
            "\\\\track.test/p.gif",
            "https://track.test/p.gif&#9;",
        ];
        for src in variants {
            let clean = sanitize(&format!(r#"<p>x</p><img src="{src}" alt="t">"#), false);
            assert!(!clean.contains("track.test"), "{src:?} kept: {clean}");
            assert!(clean.contains("<p>x</p>"), "{clean}");
        }
        let clean = sanitize(
            r#"<img src="&#9;CID:logo@x"><a href="da&#9;ta:text/html,x">d</a>"#,
            false,
        );
        assert!(clean.contains("logo@x"), "{clean}");
        assert!(!clean.contains("text/html"), "{clean}");
    }

    #[test]
    fn browser_urls_drop_tabs_newlines_and_edge_controls() {
        assert_eq!(super::browser_url(" \u{1}Ht\ttp\n:x \r"), "http:x");
    }

    #[test]
    fn remote_images_stay_when_allowed_and_data_links_never() {
        let clean = sanitize(
            r#"<img src="https://cdn.example.com/a.png"><a href="data:text/html,x">d</a>"#,
            true,
        );
        assert!(clean.contains("cdn.example.com/a.png"), "{clean}");
        assert!(!clean.contains("data:text/html"), "{clean}");
    }
}
