//! The websites that embed the chat widget (`[chat.sites.<id>]`): which
//! site a frame belongs to, whether the page framing it may, the framed
//! page's Content-Security-Policy, and the site's look and text in one
//! language for the page.
//!
//! The browser enforces the allowed origins with the frame's CSP
//! `frame-ancestors`; the server also refuses, with a clear error and a
//! log line, a frame whose site is unknown or whose `Referer` (the host
//! page's origin, which Chromium and Firefox send for a cross-origin
//! frame) is not one of the site's origins.

use omni_core::config::{Config, LANGUAGES, SiteConfig, is_origin};
use serde::Serialize;

use crate::topics::Topic;

/// Why a frame or a site's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteRefused {
    /// No `[chat.sites.<id>]` with this id (or none given).
    #[error("no chat site {0:?} is configured")]
    UnknownSite(String),
    /// The page framing the chat is not one of the site's origins.
    #[error("the chat of site {site:?} may not be embedded on {origin}")]
    OriginNotAllowed {
        /// The site.
        site: String,
        /// The framing page's origin.
        origin: String,
    },
}

impl SiteRefused {
    /// The machine-readable code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            SiteRefused::UnknownSite(_) => "unknown_site",
            SiteRefused::OriginNotAllowed { .. } => "origin_not_allowed",
        }
    }
}

/// The site `id`, if configured.
pub fn find<'a>(config: &'a Config, id: Option<&str>) -> Result<&'a SiteConfig, SiteRefused> {
    let id = id.unwrap_or_default();
    config
        .chat
        .sites
        .get(id)
        .ok_or_else(|| SiteRefused::UnknownSite(id.chars().take(40).collect()))
}

/// The origin of a `Referer` URL (`scheme://host[:port]`), if it has one.
pub fn referer_origin(referer: &str) -> Option<String> {
    let (scheme, rest) = referer.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let origin = format!("{}://{}", scheme.to_ascii_lowercase(), host);
    is_origin(&origin).then_some(origin)
}

/// The site `id` for a frame whose request came with `referer`: refused
/// when the site is unknown or the referring page's origin is not allowed
/// (no `Referer` leaves the decision to the browser's `frame-ancestors`).
pub fn for_frame<'a>(
    config: &'a Config,
    id: Option<&str>,
    referer: Option<&str>,
) -> Result<&'a SiteConfig, SiteRefused> {
    let site = find(config, id)?;
    if let Some(origin) = referer.and_then(referer_origin)
        && !site.allows(&origin)
    {
        return Err(SiteRefused::OriginNotAllowed {
            site: id.unwrap_or_default().to_owned(),
            origin,
        });
    }
    Ok(site)
}

/// The framed chat page's policy: [`omni_web::CSP`] with
/// `frame-ancestors` naming the site's origins instead of `'none'`.
pub fn frame_csp(site: &SiteConfig) -> String {
    let base = omni_web::CSP.replace("frame-ancestors 'none'", "");
    format!("{base}frame-ancestors {}", site.origins.join(" "))
}

/// A site as the widget shows it in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteView {
    /// The site id.
    pub id: String,
    /// The language of the texts below.
    pub language: String,
    /// The site's default language.
    pub default_language: String,
    /// The title.
    pub title: String,
    /// The greeting; empty for none.
    pub greeting: String,
    /// `#rrggbb`.
    pub accent: String,
    /// `#rrggbb`.
    pub accent_text: String,
    /// `bottom-right` or `bottom-left`.
    pub position: &'static str,
    /// The topics offered, with their labels in `language`.
    pub topics: Vec<Topic>,
    /// Automatic answers of the service (written in the configured text)
    /// and how this language says them, for the page to show.
    pub automatic: Vec<Automatic>,
}

/// An automatic answer and its text in the view's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Automatic {
    /// The text as the service writes it, e.g. `limits.queue_full_answer`.
    pub original: String,
    /// The text in the view's language.
    pub text: String,
}

/// The site `id` in `lang` (the site's default language when `lang` is
/// not one of [`LANGUAGES`]).
pub fn view(config: &Config, id: &str, site: &SiteConfig, lang: Option<&str>) -> SiteView {
    let language = lang
        .filter(|l| LANGUAGES.contains(l))
        .unwrap_or(&site.language);
    let all = crate::topics::list(config);
    let offered: Vec<Topic> = if site.topics.is_empty() {
        all
    } else {
        site.topics
            .iter()
            .filter_map(|t| all.iter().find(|a| &a.id == t).cloned())
            .collect()
    };
    SiteView {
        id: id.to_owned(),
        language: language.to_owned(),
        default_language: site.language.clone(),
        title: site.title_in(language).to_owned(),
        greeting: site.greeting_in(language).to_owned(),
        accent: site.accent.clone(),
        accent_text: site.accent_text.clone(),
        position: site.position.as_str(),
        topics: offered
            .into_iter()
            .map(|t| Topic {
                name: site.topic_in(language, &t.id).unwrap_or(&t.name).to_owned(),
                id: t.id,
            })
            .collect(),
        automatic: site
            .queue_full_in(language)
            .map(|text| Automatic {
                original: config.limits.queue_full_answer.clone(),
                text: text.to_owned(),
            })
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_core::config::SiteText;

    fn config() -> Config {
        let mut config = Config::default();
        config.context.topics = [("sales", "q"), ("support", "q")]
            .into_iter()
            .map(|(t, q)| (t.to_owned(), q.to_owned()))
            .collect();
        let mut site = SiteConfig {
            origins: vec![
                "https://shop.example".into(),
                "http://localhost:8000".into(),
            ],
            topics: vec!["support".into()],
            greeting: "Hello".into(),
            ..SiteConfig::default()
        };
        site.text.insert(
            "es".into(),
            SiteText {
                greeting: Some("Hola".into()),
                topics: [("support".to_owned(), "Soporte".to_owned())].into(),
                queue_full: Some("Todos ocupados".into()),
                ..SiteText::default()
            },
        );
        config.chat.sites.insert("acme".into(), site);
        config
    }

    #[test]
    fn a_frame_needs_a_known_site_and_an_allowed_referer() {
        let c = config();
        assert!(for_frame(&c, Some("acme"), Some("https://shop.example/cart?x=1")).is_ok());
        assert!(for_frame(&c, Some("acme"), None).is_ok());
        assert_eq!(
            for_frame(&c, Some("other"), None).map(|_| ()),
            Err(SiteRefused::UnknownSite("other".into()))
        );
        assert_eq!(
            for_frame(&c, None, None).map(|_| ()).unwrap_err().code(),
            "unknown_site"
        );
        assert_eq!(
            for_frame(&c, Some("acme"), Some("https://evil.example/")).map(|_| ()),
            Err(SiteRefused::OriginNotAllowed {
                site: "acme".into(),
                origin: "https://evil.example".into()
            })
        );
    }

    #[test]
    fn the_frame_may_be_framed_by_the_sites_origins_only() {
        let c = config();
        let csp = frame_csp(&c.chat.sites["acme"]);
        assert!(
            csp.ends_with("frame-ancestors https://shop.example http://localhost:8000"),
            "{csp}"
        );
        assert!(!csp.contains("'none'; frame"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
    }

    #[test]
    fn the_view_offers_the_sites_topics_in_the_language() {
        let c = config();
        let site = &c.chat.sites["acme"];
        let es = view(&c, "acme", site, Some("es"));
        assert_eq!((es.language.as_str(), es.greeting.as_str()), ("es", "Hola"));
        assert_eq!(
            es.topics,
            vec![Topic {
                id: "support".into(),
                name: "Soporte".into()
            }]
        );
        assert_eq!(
            es.automatic,
            vec![Automatic {
                original: c.limits.queue_full_answer.clone(),
                text: "Todos ocupados".into()
            }]
        );
        let it = view(&c, "acme", site, Some("it"));
        assert!(it.automatic.is_empty());
        assert_eq!(
            (it.language.as_str(), it.greeting.as_str()),
            ("en", "Hello")
        );
        assert_eq!(it.topics[0].name, "support");
    }

    #[test]
    fn referer_origins() {
        assert_eq!(
            referer_origin("http://localhost:8000/page.html").as_deref(),
            Some("http://localhost:8000")
        );
        assert_eq!(
            referer_origin("HTTPS://a.example").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(referer_origin("not a url"), None);
    }
}
