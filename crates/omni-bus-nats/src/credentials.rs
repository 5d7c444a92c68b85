//! Credentials in a NATS URL (`nats://user:password@host:4222`,
//! `nats://token@host:4222`), taken out before the URL reaches the client:
//! `async-nats` logs the server URL it dials, password included, so it gets
//! the URL without them and the credentials as connect options, and every
//! message of ours prints [`Server::shown`] with the credentials replaced.

use async_nats::ConnectOptions;
use omni_core::config::redact_url;

/// A NATS server URL split into what may be printed and what may not.
pub struct Server {
    /// The URL without credentials, for the client.
    pub dial: String,
    /// The URL with its credentials replaced, for messages.
    pub shown: String,
    credentials: Option<Credentials>,
}

enum Credentials {
    UserPassword(String, String),
    Token(String),
}

impl Server {
    /// Splits `url`; a URL without `userinfo@` dials as it is.
    pub fn parse(url: &str) -> Server {
        let shown = redact_url(url);
        let Some((scheme, rest)) = url.split_once("://") else {
            return Server {
                dial: url.to_owned(),
                shown,
                credentials: None,
            };
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let Some((userinfo, host)) = rest[..authority_end].rsplit_once('@') else {
            return Server {
                dial: url.to_owned(),
                shown,
                credentials: None,
            };
        };
        let credentials = match userinfo.split_once(':') {
            Some((user, password)) => {
                Credentials::UserPassword(percent_decode(user), percent_decode(password))
            }
            None => Credentials::Token(percent_decode(userinfo)),
        };
        Server {
            dial: format!("{scheme}://{host}{}", &rest[authority_end..]),
            shown,
            credentials: Some(credentials),
        }
    }

    /// `options` with the credentials, if the URL had any.
    pub fn authenticate(&self, options: ConnectOptions) -> ConnectOptions {
        match &self.credentials {
            Some(Credentials::UserPassword(user, password)) => {
                options.user_and_password(user.clone(), password.clone())
            }
            Some(Credentials::Token(token)) => options.token(token.clone()),
            None => options,
        }
    }
}

/// `%XX` escapes decoded (a malformed one is kept as written).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) if hex(hi).is_some() && hex(lo).is_some() => {
                let value = hex(hi).unwrap_or(0) * 16 + hex(lo).unwrap_or(0);
                out.push(value as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url() {
        let s = Server::parse("nats://omni:p%40ss@nats:4222");
        assert_eq!(s.dial, "nats://nats:4222");
        assert_eq!(s.shown, "nats://omni:***@nats:4222");
        assert!(
            matches!(&s.credentials, Some(Credentials::UserPassword(u, p)) if u == "omni" && p == "p@ss")
        );
        let t = Server::parse("tls://s3cret@nats:4222/");
        assert_eq!(t.dial, "tls://nats:4222/");
        assert!(matches!(&t.credentials, Some(Credentials::Token(x)) if x == "s3cret"));
        let plain = Server::parse("nats://127.0.0.1:4222");
        assert_eq!(plain.dial, "nats://127.0.0.1:4222");
        assert_eq!(plain.shown, plain.dial);
        assert!(plain.credentials.is_none());
    }
}
