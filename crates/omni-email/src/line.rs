//! Reading the SMTP client's lines: one line at a time up to a length
//! limit, a longer line consumed and reported instead of kept, CRLF or a
//! bare LF told apart (only `<CRLF>.<CRLF>` ends DATA).

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line read from the client.
pub(crate) enum Line {
    /// A complete line, its end removed.
    Complete {
        /// Whether it ended with CRLF (else a bare LF).
        crlf: bool,
    },
    /// The line was longer than allowed; it was read and discarded.
    TooLong,
    /// The client closed the connection.
    Closed,
}

/// Reads one line into `buf` (cleared first), at most `max` octets
/// including the line end; longer lines are consumed and reported.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Closed);
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1),
            None => (available, available.len()),
        };
        let complete = done <= available.len() && available.get(done - 1) == Some(&b'\n');
        if !too_long {
            buf.extend_from_slice(chunk);
            if buf.len() + 2 > max {
                too_long = true;
                buf.clear();
            }
        }
        reader.consume(done);
        if complete {
            break;
        }
    }
    let crlf = buf.last() == Some(&b'\r');
    if crlf {
        buf.pop();
    }
    Ok(if too_long {
        Line::TooLong
    } else {
        Line::Complete { crlf }
    })
}
