//! The channel name table is bounded: filling it is an error, never a
//! panic. Its own test binary, as it fills the process-wide table.

use omni_core::Channel;
use omni_core::channel::{ChannelError, MAX_CHANNELS};

#[test]
fn the_table_is_bounded_without_panicking() {
    let mut last = Ok(Channel::CHAT);
    for i in 0..=MAX_CHANNELS {
        last = Channel::parse(&format!("bound-{i}"));
        if last.is_err() {
            break;
        }
    }
    assert!(
        matches!(
            last,
            Err(ChannelError::Full {
                limit: MAX_CHANNELS,
                ..
            })
        ),
        "{last:?}"
    );
    // Names already interned still resolve once the table is full.
    assert_eq!(Channel::parse("bound-0").map(|c| c.as_str()), Ok("bound-0"));
    assert_eq!(Channel::known("chat"), Ok(Channel::CHAT));
}
