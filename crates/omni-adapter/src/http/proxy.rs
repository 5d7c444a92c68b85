//! The standard proxy environment for [`super::HttpClient`]: which requests
//! go through an HTTP proxy, and which go straight to their host.
//!
//! | variable | what it does |
//! |---|---|
//! | `HTTPS_PROXY` / `https_proxy` | the proxy for `https://` URLs, reached with `CONNECT host:port` (a tunnel; TLS runs inside it, end to end with the host) |
//! | `HTTP_PROXY` / `http_proxy` | the proxy for `http://` URLs, sent the request with its absolute URI |
//! | `NO_PROXY` / `no_proxy` | comma-separated hosts reached directly: a name (`bots.example.com`, which covers its subdomains too; a leading dot is the same), an IP address, a network (`10.0.0.0/8`), or `*` for every host |
//!
//! The upper-case name wins when both are set; an empty value is unset. A
//! proxy is an `http://host:port` URL (no scheme means `http://`); its
//! `user:password@`, percent-decoded, goes in `Proxy-Authorization: Basic`
//! and is never logged or shown in an error. The matching is hyper-util's
//! (`client::proxy::matcher`), the tunnel its `Tunnel`.
//!
//! A process reads its environment once ([`Proxy::from_env`], on the first
//! client it makes, at start); tests give a client its [`Proxy`] as a value
//! ([`Proxy::from_vars`]) and never set a process-wide variable.

use std::sync::{Arc, OnceLock};

use hyper::http::Uri;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};

use super::HttpError;

/// The variables read, in the order a value is looked for: upper case first.
const HTTPS: [&str; 2] = ["HTTPS_PROXY", "https_proxy"];
const HTTP: [&str; 2] = ["HTTP_PROXY", "http_proxy"];
const NO: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// Where a client's requests go: straight to their host, or through a
/// proxy, by URL (see the module doc).
#[derive(Clone, Default)]
pub struct Proxy {
    /// `None` when no proxy is set: every request goes directly.
    matcher: Option<Arc<Matcher>>,
    /// The proxies, without credentials, for logs.
    shown: String,
}

impl Proxy {
    /// No proxy: every request goes straight to its host.
    pub fn direct() -> Self {
        Self::default()
    }

    /// The process's proxy settings, read from its environment on the first
    /// call and kept for the process's life; an unusable value is an error
    /// naming the variable.
    pub fn from_env() -> Result<Self, HttpError> {
        static PROCESS: OnceLock<Result<Proxy, HttpError>> = OnceLock::new();
        PROCESS
            .get_or_init(|| {
                let proxy = Self::from_vars(|name| std::env::var(name).ok());
                if let Ok(proxy) = &proxy
                    && proxy.matcher.is_some()
                {
                    tracing::info!(proxy = %proxy.shown, "outbound http goes through a proxy");
                }
                proxy
            })
            .clone()
    }

    /// The proxy settings the variables `var` gives (see the module doc),
    /// e.g. `Proxy::from_vars(|name| std::env::var(name).ok())`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, HttpError> {
        let first = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                var(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
        };
        let https = first(HTTPS);
        let http = first(HTTP);
        let no = first(NO);
        let mut shown = Vec::new();
        let mut builder = Matcher::builder();
        if let Some((name, value)) = &https {
            shown.push(format!("https via {}", check(name, value)?));
            builder = builder.https(value.trim());
        }
        if let Some((name, value)) = &http {
            shown.push(format!("http via {}", check(name, value)?));
            builder = builder.http(value.trim());
        }
        if https.is_none() && http.is_none() {
            return Ok(Self::direct());
        }
        if let Some((_, value)) = &no {
            shown.push(format!("not for {}", value.trim()));
            builder = builder.no(value.trim());
        }
        Ok(Self {
            matcher: Some(Arc::new(builder.build())),
            shown: shown.join(", "),
        })
    }

    /// The proxy a request to `uri` goes through, if any.
    pub(crate) fn intercept(&self, uri: &Uri) -> Option<Intercept> {
        self.matcher.as_ref()?.intercept(uri)
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.matcher.is_none() {
            return f.write_str("Proxy(direct)");
        }
        write!(f, "Proxy({})", self.shown)
    }
}

/// Checks the proxy URL `value` of the variable `name` the way the matcher
/// reads it; returns it as `http://host:port`, without its credentials.
fn check(name: &str, value: &str) -> Result<String, HttpError> {
    let bad = |reason: &str| HttpError::Url(name.to_owned(), reason.to_owned());
    let uri: Uri = value
        .trim()
        .parse()
        .map_err(|_| bad("not a URL (a proxy is http://host:port)"))?;
    if uri.scheme_str().is_some_and(|s| s != "http") {
        return Err(bad("a proxy must be an http:// URL"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?.as_str();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(format!("http://{host}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn proxy(vars: &[(&str, &str)]) -> Result<Proxy, HttpError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Proxy::from_vars(|name| vars.get(name).cloned())
    }

    /// The proxy `url` goes through, as `host:port`, or `None` for direct.
    fn via(proxy: &Proxy, url: &str) -> Option<String> {
        let uri: Uri = url.parse().expect("a test URL");
        proxy
            .intercept(&uri)
            .and_then(|i| i.uri().authority().map(|a| a.to_string()))
    }

    #[test]
    fn each_scheme_takes_its_own_variable() {
        let both = proxy(&[
            ("HTTPS_PROXY", "http://secure.corp:3128"),
            ("http_proxy", "plain.corp:8080"),
        ])
        .unwrap();
        assert_eq!(
            via(&both, "https://bots.example.com/turn").as_deref(),
            Some("secure.corp:3128")
        );
        assert_eq!(
            via(&both, "http://bots.example.com/turn").as_deref(),
            Some("plain.corp:8080"),
            "no scheme means http://"
        );

        let https_only = proxy(&[("https_proxy", "http://secure.corp:3128")]).unwrap();
        assert_eq!(via(&https_only, "http://bots.example.com/"), None);
        assert_eq!(
            via(&https_only, "https://bots.example.com/").as_deref(),
            Some("secure.corp:3128")
        );

        let upper_wins = proxy(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
        ])
        .unwrap();
        assert_eq!(
            via(&upper_wins, "https://a.example/").as_deref(),
            Some("upper:1")
        );

        for unset in [proxy(&[]).unwrap(), proxy(&[("HTTPS_PROXY", " ")]).unwrap()] {
            assert_eq!(via(&unset, "https://bots.example.com/"), None);
            assert_eq!(format!("{unset:?}"), "Proxy(direct)");
        }
    }

    #[test]
    fn no_proxy_names_hosts_domains_addresses_networks_or_everything() {
        let p = proxy(&[
            ("HTTPS_PROXY", "http://proxy.corp:3128"),
            (
                "NO_PROXY",
                "internal.example, .corp.example, 10.1.2.3, 192.168.0.0/16",
            ),
        ])
        .unwrap();
        for direct in [
            "https://internal.example/",
            "https://bots.internal.example/",
            "https://corp.example/",
            "https://a.b.corp.example/",
            "https://10.1.2.3:8443/",
            "https://192.168.40.7/",
        ] {
            assert_eq!(via(&p, direct), None, "{direct} goes directly");
        }
        for proxied in [
            "https://notinternal.example/",
            "https://10.1.2.4/",
            "https://192.169.0.1/",
            "https://bots.example.com/",
        ] {
            assert_eq!(
                via(&p, proxied).as_deref(),
                Some("proxy.corp:3128"),
                "{proxied} goes through the proxy"
            );
        }

        let everything =
            proxy(&[("HTTPS_PROXY", "http://proxy.corp:3128"), ("no_proxy", "*")]).unwrap();
        assert_eq!(via(&everything, "https://bots.example.com/"), None);
    }

    #[test]
    fn credentials_go_in_proxy_authorization_and_are_never_shown() {
        let p = proxy(&[("HTTPS_PROXY", "http://ops:s%40cret@proxy.corp:3128")]).unwrap();
        let uri: Uri = "https://bots.example.com/".parse().unwrap();
        let intercept = p.intercept(&uri).unwrap();
        // base64("ops:s@cret"): the password is percent-decoded.
        assert_eq!(
            intercept.basic_auth().map(|v| v.to_str().unwrap_or("")),
            Some("Basic b3BzOnNAY3JldA==")
        );
        let shown = format!("{p:?}");
        assert_eq!(shown, "Proxy(https via http://proxy.corp:3128)");
    }

    #[test]
    fn a_proxy_that_is_not_an_http_url_is_refused_by_name() {
        for (value, reason) in [
            ("socks5://proxy.corp:1080", "http://"),
            ("https://user:pw@proxy.corp:443", "http://"),
            ("http://", "URL"),
        ] {
            let err = proxy(&[("HTTPS_PROXY", value)]).unwrap_err().to_string();
            assert!(
                err.contains("HTTPS_PROXY") && err.contains(reason),
                "{value}: {err}"
            );
            assert!(!err.contains("pw"), "no credentials in {err}");
        }
    }
}
