//! A customer's file: `POST /attachments?file=<name>&client_id=<id>[&topic=<t>]`
//! with the visitor id in `X-Visitor` and the file as the body. Images
//! (PNG, JPEG, GIF, WebP) and PDF up to `chat.max_attachment_bytes`; the
//! type is read from the content's first bytes, never from the name or the
//! `Content-Type` the browser sent, and a name whose extension says
//! another type is refused too. The visitor must have a page connected
//! (a `hello` on the socket), the chat's bounds apply as to a message, and
//! the answer comes once the file is durably on the bus.
//!
//! | answer | code | when |
//! |---|---|---|
//! | 200 | `{"client_id","name","content_type","size"}` | accepted |
//! | 400 | `bad_request` | no visitor, file name or client id, or an empty file |
//! | 403 | `not_connected` | the visitor has no chat page open |
//! | 404 | `attachments_off` | `chat.max_attachment_bytes = 0` |
//! | 413 | `too_large` | over `chat.max_attachment_bytes` |
//! | 415 | `unsupported_type` | not an image or PDF by its content |
//! | 415 | `type_mismatch` | the name's extension says another type |
//! | 429 | `rate_limited` | over the chat's bounds |
//! | 503 | `unavailable` | the bus could not take it now; send it again |

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use omni_core::Attachment;
use omni_core::error_body::ErrorBody;
use serde_json::json;
use tracing::{info, warn};

use crate::protocol::{MAX_CLIENT_ID, is_visitor_id};
use crate::server::AppState;

/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 120;

/// A type a customer may send: MIME type, the extensions that name it,
/// and whether `content` starts like one.
type FileType = (&'static str, &'static [&'static str], fn(&[u8]) -> bool);

/// The types a customer may send.
const TYPES: &[FileType] = &[
    ("image/png", &["png"], |c| {
        c.starts_with(b"\x89PNG\r\n\x1a\n")
    }),
    ("image/jpeg", &["jpg", "jpeg"], |c| {
        c.starts_with(b"\xff\xd8\xff")
    }),
    ("image/gif", &["gif"], |c| {
        c.starts_with(b"GIF87a") || c.starts_with(b"GIF89a")
    }),
    ("image/webp", &["webp"], |c| {
        c.len() >= 12 && &c[..4] == b"RIFF" && &c[8..12] == b"WEBP"
    }),
    ("application/pdf", &["pdf"], |c| c.starts_with(b"%PDF-")),
];

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefused {
    /// The content is none of [`TYPES`].
    #[error(
        "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent; this file is none of them"
    )]
    Unsupported,
    /// The extension names another type than the content is.
    #[error("the file is named .{extension} but its content is {actual}")]
    Mismatch {
        /// The name's extension.
        extension: String,
        /// The type by content.
        actual: &'static str,
    },
}

/// The MIME type of `content` by its first bytes, checked against the
/// extension of `name`.
pub fn sniff(name: &str, content: &[u8]) -> Result<&'static str, FileRefused> {
    let (mime, extensions, _) = TYPES
        .iter()
        .find(|(_, _, starts)| starts(content))
        .ok_or(FileRefused::Unsupported)?;
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let names_a_type = TYPES
        .iter()
        .any(|(_, e, _)| e.contains(&extension.as_str()));
    if names_a_type && !extensions.contains(&extension.as_str()) {
        return Err(FileRefused::Mismatch {
            extension,
            actual: mime,
        });
    }
    Ok(mime)
}

/// The file name as kept: no path, no control characters, at most
/// [`MAX_NAME_CHARS`].
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    base.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

/// `POST /attachments`.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let adapter = &state.adapter;
    let limit = adapter.config().chat.max_attachment_bytes;
    if limit == 0 {
        return refuse(
            StatusCode::NOT_FOUND,
            "attachments_off",
            "this chat does not take files",
        );
    }
    let visitor = headers
        .get("x-visitor")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_visitor_id(v))
        .map(str::to_owned);
    let name = query.get("file").map(|n| clean_name(n)).unwrap_or_default();
    let client_id = query.get("client_id").cloned().unwrap_or_default();
    let (Some(visitor), false, true) = (
        visitor,
        name.is_empty(),
        !client_id.is_empty()
            && client_id.len() <= MAX_CLIENT_ID
            && client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
    ) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "send the file with the X-Visitor header, ?file=<name> and ?client_id=<id>",
        );
    };
    if !adapter.is_connected(&visitor) {
        warn!(visitor = %visitor, "chat file refused: no page connected");
        return refuse(
            StatusCode::FORBIDDEN,
            "not_connected",
            "open the chat before sending a file",
        );
    }
    let content = match axum::body::to_bytes(body, limit + 1).await {
        Ok(bytes) if bytes.len() <= limit => bytes,
        _ => {
            warn!(visitor = %visitor, limit, "chat file refused: too large");
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the file is larger than {} KB, the most this chat takes",
                    limit / 1024
                ),
            );
        }
    };
    if content.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "the file is empty");
    }
    let content_type = match sniff(&name, &content) {
        Ok(t) => t,
        Err(e) => {
            let code = match e {
                FileRefused::Unsupported => "unsupported_type",
                FileRefused::Mismatch { .. } => "type_mismatch",
            };
            warn!(visitor = %visitor, code, file = %name, "chat file refused");
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, code, e.to_string());
        }
    };
    let peer = crate::server::peer(&extensions);
    let mut bounded = state.bounds.message(peer);
    if bounded.is_ok() && matches!(adapter.history(&visitor).await, Ok(None)) {
        bounded = state.bounds.new_conversation(peer, &visitor);
    }
    if let Err(e) = bounded {
        warn!(visitor = %visitor, "chat file refused: over the chat's bounds");
        return refuse(StatusCode::TOO_MANY_REQUESTS, e.code(), e.to_string());
    }
    let topic = crate::topics::check(adapter.config(), query.get("topic").cloned())
        .ok()
        .flatten();
    let size = content.len();
    let file = Attachment {
        name: name.clone(),
        content_type: content_type.to_owned(),
        content: content.to_vec(),
    };
    match adapter
        .accept_file(&visitor, &client_id, file, topic.as_deref())
        .await
    {
        Ok(()) => {
            info!(visitor = %visitor, content_type, size, "chat file accepted");
            Json(json!({
                "client_id": client_id,
                "name": name,
                "content_type": content_type,
                "size": size,
            }))
            .into_response()
        }
        Err(e) => {
            warn!(visitor = %visitor, error = %e, "chat file not accepted");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the file could not be accepted right now; send it again",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_type_comes_from_the_content() {
        assert_eq!(sniff("photo.png", PNG), Ok("image/png"));
        assert_eq!(sniff("no-extension", PNG), Ok("image/png"));
        assert_eq!(sniff("scan.PDF", b"%PDF-1.7\n"), Ok("application/pdf"));
        assert_eq!(sniff("a.jpeg", b"\xff\xd8\xff\xe0"), Ok("image/jpeg"));
        assert_eq!(sniff("a.webp", b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert_eq!(sniff("a.gif", b"GIF89a"), Ok("image/gif"));
    }

    #[test]
    fn a_file_that_only_has_the_name_is_refused() {
        assert_eq!(
            sniff("invoice.pdf", b"MZ\x90\0 a program"),
            Err(FileRefused::Unsupported)
        );
        assert_eq!(
            sniff("photo.png", b"<html><script>"),
            Err(FileRefused::Unsupported)
        );
        assert_eq!(
            sniff("invoice.pdf", PNG),
            Err(FileRefused::Mismatch {
                extension: "pdf".into(),
                actual: "image/png"
            })
        );
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\ana\\photo.png"), "photo.png");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{0}b\n.png"), "ab.png");
    }
}
