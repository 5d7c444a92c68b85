//! Sanitizing HTML bodies before any agent sees them.
//!
//! Built on `ammonia` (an allow-list HTML sanitizer on a spec-compliant
//! parser): scripts, styles, forms, frames, event handlers (`on*`),
//! `style` attributes and `javascript:` URLs are removed; links get
//! `rel="noopener noreferrer nofollow"` and open in a new tab. Remote
//! images (`http:`, `https:` and protocol-relative `src`) are removed
//! unless `email.allow_remote_images` is set: loading one would tell the
//! sender when, where and that an agent read the mail. Inline images
//! (`cid:`) and `data:` images stay.

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

fn filter_attribute<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
    allow_remote_images: bool,
) -> Option<Cow<'u, str>> {
    let scheme_of = |v: &str| v.trim_start().to_ascii_lowercase();
    match (element, attribute) {
        ("img", "src") => {
            let v = scheme_of(value);
            let remote = v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//");
            // Only images may carry data: URLs (a data: link can carry a page).
            if remote && !allow_remote_images {
                None
            } else {
                Some(Cow::Borrowed(value))
            }
        }
        (_, "href") if scheme_of(value).starts_with("data:") => None,
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
