//! `[chat.sites.<id>]`: one website that embeds the chat widget, with its
//! look (title, colors, position), its greeting, the topics it offers,
//! the origins allowed to frame it, its default language, and the text
//! per language (`[chat.sites.<id>.text.<lang>]`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The languages the widget's own text comes in.
pub const LANGUAGES: &[&str] = &["en", "es", "fr", "de"];

/// Where the launcher button sits on the host page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// The bottom right corner.
    #[default]
    BottomRight,
    /// The bottom left corner.
    BottomLeft,
}

impl Position {
    /// The name the widget script reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Position::BottomRight => "bottom-right",
            Position::BottomLeft => "bottom-left",
        }
    }
}

/// One website embedding the widget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteConfig {
    /// The chat's title, in the default language.
    pub title: String,
    /// The first line the customer reads, in the default language; empty
    /// for none.
    pub greeting: String,
    /// The launcher's and buttons' color, `#rrggbb`.
    pub accent: String,
    /// The text color on `accent`, `#rrggbb`.
    pub accent_text: String,
    /// Where the launcher sits.
    pub position: Position,
    /// The topics (of `context.topics`) offered, in this order; empty
    /// offers them all.
    pub topics: Vec<String>,
    /// Origins (`https://www.example.com`, scheme, host and port only)
    /// allowed to frame the chat; at least one.
    pub origins: Vec<String>,
    /// The language when neither the page nor the browser asks for one
    /// the widget has: one of [`LANGUAGES`].
    pub language: String,
    /// Title, greeting and topic labels per language, over the defaults.
    pub text: BTreeMap<String, SiteText>,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            title: "Chat with us".into(),
            greeting: String::new(),
            accent: "#1d4ed8".into(),
            accent_text: "#ffffff".into(),
            position: Position::BottomRight,
            topics: Vec::new(),
            origins: Vec::new(),
            language: "en".into(),
            text: BTreeMap::new(),
        }
    }
}

/// A site's text in one language.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteText {
    /// The title.
    pub title: Option<String>,
    /// The greeting.
    pub greeting: Option<String>,
    /// Topic id to its label.
    pub topics: BTreeMap<String, String>,
    /// The automatic answer to a customer whose queue is full
    /// (`limits.queue_full_answer`) in this language.
    pub queue_full: Option<String>,
}

fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `s` is an origin: `http(s)://host[:port]`, nothing after.
pub fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
}

impl SiteConfig {
    /// Checks the site `id` against the configured `topics`.
    pub fn check(&self, id: &str, topics: &BTreeMap<String, String>) -> Result<(), String> {
        let at = format!("chat.sites.{id}");
        if id.is_empty()
            || id.len() > 40
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(format!("{at}: a site id is 1-40 of a-z, 0-9, '-' and '_'"));
        }
        if self.origins.is_empty() {
            return Err(format!(
                "{at}.origins: at least one origin may embed the site, e.g. \"https://www.example.com\""
            ));
        }
        if let Some(bad) = self.origins.iter().find(|o| !is_origin(o)) {
            return Err(format!(
                "{at}.origins: {bad:?} is not an origin (scheme://host[:port], no path)"
            ));
        }
        for (key, value) in [("accent", &self.accent), ("accent_text", &self.accent_text)] {
            if !is_color(value) {
                return Err(format!("{at}.{key}: {value:?} is not a #rrggbb color"));
            }
        }
        if !LANGUAGES.contains(&self.language.as_str()) {
            return Err(format!(
                "{at}.language: {:?} is not one of {}",
                self.language,
                LANGUAGES.join(", ")
            ));
        }
        let unknown_topic = |t: &String| !topics.contains_key(t);
        if let Some(t) = self.topics.iter().find(|t| unknown_topic(t)) {
            return Err(format!("{at}.topics: {t:?} is not in context.topics"));
        }
        for (lang, text) in &self.text {
            if !LANGUAGES.contains(&lang.as_str()) {
                return Err(format!(
                    "{at}.text.{lang}: not one of the widget's languages ({})",
                    LANGUAGES.join(", ")
                ));
            }
            if let Some(t) = text.topics.keys().find(|t| unknown_topic(t)) {
                return Err(format!(
                    "{at}.text.{lang}.topics: {t:?} is not in context.topics"
                ));
            }
        }
        Ok(())
    }

    /// The title in `lang`, else the default.
    pub fn title_in(&self, lang: &str) -> &str {
        self.text
            .get(lang)
            .and_then(|t| t.title.as_deref())
            .unwrap_or(&self.title)
    }

    /// The greeting in `lang`, else the default.
    pub fn greeting_in(&self, lang: &str) -> &str {
        self.text
            .get(lang)
            .and_then(|t| t.greeting.as_deref())
            .unwrap_or(&self.greeting)
    }

    /// The label of `topic` in `lang`, if the site gives one.
    pub fn topic_in(&self, lang: &str, topic: &str) -> Option<&str> {
        self.text
            .get(lang)
            .and_then(|t| t.topics.get(topic))
            .map(String::as_str)
    }

    /// The queue-full answer in `lang`, if the site gives one.
    pub fn queue_full_in(&self, lang: &str) -> Option<&str> {
        self.text.get(lang).and_then(|t| t.queue_full.as_deref())
    }

    /// Whether `origin` may frame this site.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> BTreeMap<String, String> {
        [("sales".to_owned(), "sales".to_owned())].into()
    }

    fn site() -> SiteConfig {
        SiteConfig {
            origins: vec!["https://www.acme.example".into()],
            ..SiteConfig::default()
        }
    }

    #[test]
    fn a_site_with_an_origin_passes() {
        assert_eq!(site().check("acme", &topics()), Ok(()));
        assert!(site().allows("https://WWW.acme.example"));
        assert!(!site().allows("https://evil.example"));
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases: Vec<(SiteConfig, &str, &str)> = vec![
            (
                SiteConfig::default(),
                "acme",
                "chat.sites.acme.origins: at least one",
            ),
            (
                SiteConfig {
                    origins: vec!["https://acme.example/page".into()],
                    ..site()
                },
                "acme",
                "is not an origin",
            ),
            (site(), "Acme!", "a site id is"),
            (
                SiteConfig {
                    accent: "blue".into(),
                    ..site()
                },
                "acme",
                "chat.sites.acme.accent: \"blue\"",
            ),
            (
                SiteConfig {
                    language: "it".into(),
                    ..site()
                },
                "acme",
                "chat.sites.acme.language",
            ),
            (
                SiteConfig {
                    topics: vec!["billing".into()],
                    ..site()
                },
                "acme",
                "chat.sites.acme.topics: \"billing\"",
            ),
            (
                SiteConfig {
                    text: [("it".to_owned(), SiteText::default())].into(),
                    ..site()
                },
                "acme",
                "chat.sites.acme.text.it",
            ),
        ];
        for (site, id, want) in cases {
            let error = site.check(id, &topics()).expect_err(want);
            assert!(error.contains(want), "{error} lacks {want}");
        }
    }

    #[test]
    fn text_per_language_falls_back_to_the_default() {
        let mut s = site();
        s.greeting = "Hello".into();
        s.text.insert(
            "es".into(),
            SiteText {
                greeting: Some("Hola".into()),
                topics: [("sales".to_owned(), "Ventas".to_owned())].into(),
                ..SiteText::default()
            },
        );
        assert_eq!(s.greeting_in("es"), "Hola");
        assert_eq!(s.greeting_in("fr"), "Hello");
        assert_eq!(s.title_in("es"), "Chat with us");
        assert_eq!(s.topic_in("es", "sales"), Some("Ventas"));
        assert_eq!(s.topic_in("de", "sales"), None);
    }

    #[test]
    fn origins() {
        for ok in [
            "https://a.example",
            "http://localhost:8000",
            "http://127.0.0.1:9",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "a.example",
            "https://a.example/",
            "ftp://a",
            "https://a:0",
            "https://",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
