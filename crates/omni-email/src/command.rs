//! SMTP commands (RFC 5321 §4.1) as the server reads them, with their
//! syntax errors already turned into replies.

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO <domain>`.
    Ehlo(String),
    /// `HELO <domain>`.
    Helo(String),
    /// `MAIL FROM:<path> [SIZE=n] [BODY=...] [SMTPUTF8]`.
    Mail {
        /// The reverse path; empty for the null sender `<>`.
        from: String,
        /// The size the client declared, if any.
        size: Option<u64>,
    },
    /// `RCPT TO:<path>`.
    Rcpt {
        /// The forward path.
        to: String,
    },
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY <string>`.
    Vrfy,
    /// `HELP [string]`.
    Help,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// A command this server knows but does not offer (EXPN, AUTH, BDAT,
    /// ETRN, TURN).
    NotImplemented(String),
}

/// A command line that cannot be executed, with the reply it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

/// Longest address accepted (RFC 5321 §4.5.3.1.3: 256 octets for a path).
const MAX_PATH: usize = 256;

/// Parses one command line (without CRLF).
pub fn parse(line: &str) -> Result<Command, Rejected> {
    let (verb, rest) = match line.split_once(' ') {
        Some((v, r)) => (v, r.trim()),
        None => (line.trim_end(), ""),
    };
    let syntax = |what: &str| Err(Rejected(format!("501 5.5.4 syntax: {what}")));
    match verb.to_ascii_uppercase().as_str() {
        "EHLO" | "HELO" if rest.is_empty() || rest.contains(char::is_whitespace) => {
            syntax(&format!("{} <domain>", verb.to_ascii_uppercase()))
        }
        "EHLO" => Ok(Command::Ehlo(rest.to_owned())),
        "HELO" => Ok(Command::Helo(rest.to_owned())),
        "MAIL" => {
            let Some(arg) = strip_prefix_ignore_case(rest, "FROM:") else {
                return syntax("MAIL FROM:<address>");
            };
            let (from, params) = path(arg, true)?;
            let mut size = None;
            for param in params {
                let (key, value) = param.split_once('=').unwrap_or((param, ""));
                match key.to_ascii_uppercase().as_str() {
                    "SIZE" => match value.parse::<u64>() {
                        Ok(n) => size = Some(n),
                        Err(_) => return syntax("SIZE=<number of octets>"),
                    },
                    "BODY"
                        if ["7BIT", "8BITMIME"]
                            .iter()
                            .any(|b| b.eq_ignore_ascii_case(value)) => {}
                    "SMTPUTF8" if value.is_empty() => {}
                    _ => {
                        return Err(Rejected(format!(
                            "555 5.5.4 unsupported MAIL parameter {key}"
                        )));
                    }
                }
            }
            Ok(Command::Mail { from, size })
        }
        "RCPT" => {
            let Some(arg) = strip_prefix_ignore_case(rest, "TO:") else {
                return syntax("RCPT TO:<address>");
            };
            let (to, params) = path(arg, false)?;
            if let Some(param) = params.first() {
                return Err(Rejected(format!(
                    "555 5.5.4 unsupported RCPT parameter {}",
                    param.split('=').next().unwrap_or(param)
                )));
            }
            Ok(Command::Rcpt { to })
        }
        "DATA" if !rest.is_empty() => syntax("DATA takes no argument"),
        "DATA" => Ok(Command::Data),
        "RSET" if !rest.is_empty() => syntax("RSET takes no argument"),
        "RSET" => Ok(Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "QUIT" if !rest.is_empty() => syntax("QUIT takes no argument"),
        "QUIT" => Ok(Command::Quit),
        "VRFY" if rest.is_empty() => syntax("VRFY <string>"),
        "VRFY" => Ok(Command::Vrfy),
        "HELP" => Ok(Command::Help),
        "STARTTLS" if !rest.is_empty() => syntax("STARTTLS takes no argument"),
        "STARTTLS" => Ok(Command::StartTls),
        v @ ("EXPN" | "AUTH" | "BDAT" | "ETRN" | "TURN" | "SEND" | "SOML" | "SAML") => {
            Ok(Command::NotImplemented(v.to_owned()))
        }
        _ => Err(Rejected("500 5.5.2 command not recognized".to_owned())),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s[prefix.len()..].trim_start())
}

/// `<local@domain> PARAMS...` → address and parameters. The null path `<>`
/// is allowed only for MAIL. Brackets may be missing (a common client bug).
fn path(arg: &str, null_ok: bool) -> Result<(String, Vec<&str>), Rejected> {
    let bad = |what: &str| {
        Err(Rejected(format!(
            "501 {} bad address: {what}",
            if null_ok { "5.1.7" } else { "5.1.3" }
        )))
    };
    let (inner, rest) = if let Some(stripped) = arg.strip_prefix('<') {
        match stripped.split_once('>') {
            Some((inner, rest)) => (inner, rest),
            None => return bad("missing '>'"),
        }
    } else {
        arg.split_once(' ').unwrap_or((arg, ""))
    };
    let params: Vec<&str> = rest.split_whitespace().collect();
    // A source route (`@a,@b:user@d`) is obsolete: keep the mailbox.
    let address = match inner.rsplit_once(':') {
        Some((route, mailbox)) if route.starts_with('@') => mailbox,
        _ => inner,
    };
    if address.is_empty() {
        return if null_ok {
            Ok((String::new(), params))
        } else {
            bad("empty recipient")
        };
    }
    if address.len() > MAX_PATH {
        return bad("too long");
    }
    match address.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !address.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains(['<', '>', ',', ';', '"']) =>
        {
            Ok((address.to_owned(), params))
        }
        _ => bad("expected local-part@domain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mail_with_parameters() {
        assert_eq!(
            parse("MAIL FROM:<ann@example.com> SIZE=1234 BODY=8BITMIME"),
            Ok(Command::Mail {
                from: "ann@example.com".into(),
                size: Some(1234)
            })
        );
        assert_eq!(
            parse("mail from: <>"),
            Ok(Command::Mail {
                from: String::new(),
                size: None
            })
        );
        assert_eq!(
            parse("MAIL FROM:<@relay.test:ann@example.com>"),
            Ok(Command::Mail {
                from: "ann@example.com".into(),
                size: None
            })
        );
        assert!(
            parse("MAIL FROM:<ann@example.com> SIZE=x")
                .unwrap_err()
                .0
                .starts_with("501")
        );
        assert!(
            parse("MAIL FROM:<ann@example.com> RET=FULL")
                .unwrap_err()
                .0
                .starts_with("555")
        );
        assert!(
            parse("MAIL TO:<ann@example.com>")
                .unwrap_err()
                .0
                .starts_with("501")
        );
    }

    #[test]
    fn parses_rcpt_and_rejects_bad_paths() {
        assert_eq!(
            parse("RCPT TO:<reply+c_1@Support.test>"),
            Ok(Command::Rcpt {
                to: "reply+c_1@Support.test".into()
            })
        );
        assert_eq!(
            parse("RCPT TO:bob@support.test"),
            Ok(Command::Rcpt {
                to: "bob@support.test".into()
            })
        );
        for bad in [
            "RCPT TO:<>",
            "RCPT TO:<bob>",
            "RCPT TO:<bob@support.test",
            "RCPT TO:<@support.test>",
            "RCPT",
        ] {
            assert!(parse(bad).unwrap_err().0.starts_with("501"), "{bad}");
        }
    }

    #[test]
    fn other_verbs() {
        assert_eq!(
            parse("EHLO client.test"),
            Ok(Command::Ehlo("client.test".into()))
        );
        assert!(parse("EHLO").unwrap_err().0.starts_with("501"));
        assert_eq!(parse("data"), Ok(Command::Data));
        assert!(parse("DATA now").unwrap_err().0.starts_with("501"));
        assert_eq!(parse("NOOP hello"), Ok(Command::Noop));
        assert_eq!(parse("VRFY bob"), Ok(Command::Vrfy));
        assert_eq!(parse("STARTTLS"), Ok(Command::StartTls));
        assert_eq!(
            parse("AUTH PLAIN x"),
            Ok(Command::NotImplemented("AUTH".into()))
        );
        assert!(parse("FOO bar").unwrap_err().0.starts_with("500"));
        assert!(parse("").unwrap_err().0.starts_with("500"));
    }
}
