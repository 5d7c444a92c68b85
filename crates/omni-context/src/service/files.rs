//! Files an agent attaches to a reply: which channels carry them, how
//! many and how large, which types, each type checked against the
//! content's first bytes (a declared type the content does not match is
//! refused, so a desk cannot pass an executable off as a PDF).
//!
//! The files ride the bus to the adapter inside the outbound command, so
//! their total stays well under NATS's default 1 MiB message.

use omni_core::{Attachment, AttachmentInfo, Channel};

use crate::ContextError;

/// Most files on one reply.
pub const MAX_REPLY_FILES: usize = 5;
/// Most bytes of all files of one reply.
pub const MAX_REPLY_FILE_BYTES: usize = 512 * 1024;
/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 120;

/// The types an agent may send, with the first bytes their content starts
/// with (`None`: text, checked as UTF-8 without NUL).
const TYPES: &[(&str, Option<&[&[u8]]>)] = &[
    ("application/pdf", Some(&[b"%PDF-"])),
    ("image/png", Some(&[b"\x89PNG\r\n\x1a\n"])),
    ("image/jpeg", Some(&[b"\xff\xd8\xff"])),
    ("image/gif", Some(&[b"GIF87a", b"GIF89a"])),
    ("text/plain", None),
];

/// Checks the files of a reply on `channel`, returning them with sanitized
/// names and the infos the timeline shows (all stored).
pub fn check(
    channel: Channel,
    files: Vec<Attachment>,
) -> Result<(Vec<Attachment>, Vec<AttachmentInfo>), ContextError> {
    if files.is_empty() {
        return Ok((files, Vec::new()));
    }
    if channel != Channel::EMAIL {
        return Err(ContextError::FailedPrecondition(format!(
            "{channel} replies cannot carry files; attach them to an email reply"
        )));
    }
    if files.len() > MAX_REPLY_FILES {
        return Err(ContextError::InvalidArgument(format!(
            "{} files; a reply carries at most {MAX_REPLY_FILES}",
            files.len()
        )));
    }
    let total: usize = files.iter().map(|f| f.content.len()).sum();
    if total > MAX_REPLY_FILE_BYTES {
        return Err(ContextError::InvalidArgument(format!(
            "files of {total} bytes in all exceed the limit of {MAX_REPLY_FILE_BYTES} bytes"
        )));
    }
    let mut out = Vec::with_capacity(files.len());
    let mut infos = Vec::with_capacity(files.len());
    for (n, mut file) in files.into_iter().enumerate() {
        file.name = clean_name(&file.name, n + 1);
        let declared = file
            .content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some((kind, magic)) = TYPES.iter().find(|(t, _)| *t == declared) else {
            return Err(ContextError::InvalidArgument(format!(
                "{}: type {declared:?} is not allowed (PDF, PNG, JPEG, GIF or plain text)",
                file.name
            )));
        };
        if file.content.is_empty() {
            return Err(ContextError::InvalidArgument(format!(
                "{}: the file is empty",
                file.name
            )));
        }
        let matches = match magic {
            Some(starts) => starts.iter().any(|m| file.content.starts_with(m)),
            None => std::str::from_utf8(&file.content).is_ok_and(|t| !t.contains('\0')),
        };
        if !matches {
            return Err(ContextError::InvalidArgument(format!(
                "{}: the content is not {kind}",
                file.name
            )));
        }
        file.content_type = (*kind).to_owned();
        infos.push(AttachmentInfo {
            index: u32::try_from(n + 1).unwrap_or(u32::MAX),
            name: file.name.clone(),
            content_type: file.content_type.clone(),
            size: file.content.len() as u64,
            stored: true,
        });
        out.push(file);
    }
    Ok((out, infos))
}

/// The name without any path or control characters, at most
/// [`MAX_NAME_CHARS`]; `attachment-<n>` when nothing is left.
fn clean_name(name: &str, n: usize) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        format!("attachment-{n}")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content_type: &str, content: &[u8]) -> Attachment {
        Attachment {
            name: name.into(),
            content_type: content_type.into(),
            content: content.to_vec(),
        }
    }

    #[test]
    fn an_email_reply_carries_checked_files() {
        let (files, infos) = check(
            Channel::EMAIL,
            vec![
                file("../../invoice 42.pdf", "application/pdf", b"%PDF-1.4 x"),
                file("note.txt", "text/plain; charset=utf-8", "héllo".as_bytes()),
            ],
        )
        .unwrap();
        assert_eq!(files[0].name, "invoice 42.pdf");
        assert_eq!(files[1].content_type, "text/plain");
        assert_eq!(
            (infos[1].index, infos[1].size, infos[1].stored),
            (2, 6, true)
        );
    }

    #[test]
    fn other_channels_wrong_types_and_too_much_are_refused() {
        let pdf = || file("a.pdf", "application/pdf", b"%PDF-1.4");
        let refused = |channel, files| check(channel, files).unwrap_err().to_string();
        assert!(refused(Channel::CHAT, vec![pdf()]).contains("chat replies cannot carry files"));
        assert!(
            refused(
                Channel::EMAIL,
                vec![file("a.exe", "application/x-msdownload", b"MZ")]
            )
            .contains("not allowed")
        );
        assert!(
            refused(
                Channel::EMAIL,
                vec![file("a.pdf", "application/pdf", b"MZ\x90\0")]
            )
            .contains("content is not application/pdf")
        );
        assert!(
            refused(Channel::EMAIL, vec![file("a.txt", "text/plain", b"a\0b")])
                .contains("content is not text/plain")
        );
        assert!(refused(Channel::EMAIL, vec![pdf(); 6]).contains("at most 5"));
        let big = file(
            "big.pdf",
            "application/pdf",
            &[b'%'; MAX_REPLY_FILE_BYTES + 1],
        );
        assert!(refused(Channel::EMAIL, vec![big]).contains("exceed the limit"));
        assert!(
            check(Channel::CHAT, Vec::new()).is_ok(),
            "no files: any channel"
        );
    }
}
