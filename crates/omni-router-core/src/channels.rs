//! The engine's channels: the declared set it was built with, each at a
//! dense slot `0..n`, and per-channel values kept inline for the first
//! three.
//!
//! A [`Channel`] is a process-wide slot (up to
//! [`omni_core::channel::MAX_CHANNELS`]); the engine keeps its per-channel
//! state (capacity, load, offers, index keys, waiting lines) by its own
//! dense slot instead, so its records are as small as the set it routes.
//! [`PerChannel`] holds the first [`INLINE`] values inside its owner (the
//! built-in chat, email and SMS: no heap block per agent, the same cache
//! lines as before channels were open) and the rest in one heap block.

use std::ops::{Index, IndexMut};

use omni_core::Channel;
use omni_core::channel::MAX_CHANNELS;

/// Values kept inside a [`PerChannel`].
pub(crate) const INLINE: usize = 3;

const NONE: u8 = u8::MAX;

/// The engine's declared channels and their dense slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChannelSlots {
    /// Dense slot by [`Channel::index`]; `NONE` when not declared.
    slot_of: [u8; MAX_CHANNELS],
    channels: Vec<Channel>,
}

impl ChannelSlots {
    /// The slots of `channels` in the order given (duplicates dropped).
    pub(crate) fn new(channels: &[Channel]) -> Self {
        let mut slots = Self {
            slot_of: [NONE; MAX_CHANNELS],
            channels: Vec::with_capacity(channels.len()),
        };
        for channel in channels {
            if slots.slot(*channel).is_none() {
                slots.slot_of[channel.index()] = slots.channels.len() as u8;
                slots.channels.push(*channel);
            }
        }
        slots
    }

    /// The dense slot of `channel`, if declared.
    #[inline]
    pub(crate) fn slot(&self, channel: Channel) -> Option<usize> {
        match self.slot_of.get(channel.index()) {
            Some(&s) if s != NONE => Some(usize::from(s)),
            _ => None,
        }
    }

    /// The dense slot of a channel the engine admitted (so declared): a
    /// contact's, an offer's.
    #[inline]
    pub(crate) fn dense(&self, channel: Channel) -> usize {
        let slot = self.slot(channel);
        debug_assert!(slot.is_some(), "channel {channel} was admitted undeclared");
        slot.unwrap_or(0)
    }

    /// How many channels the engine routes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.channels.len()
    }

    /// Every declared channel, by dense slot.
    pub(crate) fn all(&self) -> &[Channel] {
        &self.channels
    }
}

/// One value per declared channel, indexed by dense slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PerChannel<T> {
    inline: [T; INLINE],
    /// The values of slots `INLINE..`; empty (no allocation) for up to
    /// `INLINE` channels.
    spilled: Box<[T]>,
}

impl<T: Clone> PerChannel<T> {
    /// `value` on each of `n` channels.
    pub(crate) fn new(n: usize, value: T) -> Self {
        Self {
            inline: std::array::from_fn(|_| value.clone()),
            spilled: vec![value; n.saturating_sub(INLINE)].into_boxed_slice(),
        }
    }
}

impl<T> PerChannel<T> {
    /// Every value held: the declared channels' and, with fewer than
    /// `INLINE` channels, unused inline ones (left at their initial value).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.inline.iter().chain(self.spilled.iter())
    }
}

impl<T> Index<usize> for PerChannel<T> {
    type Output = T;

    #[inline]
    fn index(&self, slot: usize) -> &T {
        if slot < INLINE {
            &self.inline[slot]
        } else {
            &self.spilled[slot - INLINE]
        }
    }
}

impl<T> IndexMut<usize> for PerChannel<T> {
    #[inline]
    fn index_mut(&mut self, slot: usize) -> &mut T {
        if slot < INLINE {
            &mut self.inline[slot]
        } else {
            &mut self.spilled[slot - INLINE]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_dense_in_declared_order_and_undeclared_has_none() {
        let extra = Channel::parse("slots-test").expect("valid");
        let slots = ChannelSlots::new(&[Channel::SMS, extra, Channel::CHAT, Channel::SMS]);
        assert_eq!(slots.len(), 3);
        assert_eq!(slots.slot(Channel::SMS), Some(0));
        assert_eq!(slots.slot(extra), Some(1));
        assert_eq!(slots.slot(Channel::CHAT), Some(2));
        assert_eq!(slots.slot(Channel::EMAIL), None);
        assert_eq!(slots.all()[1], extra);
    }

    #[test]
    fn values_beyond_the_inline_ones_live_in_the_spill() {
        let mut v = PerChannel::new(5, 0u32);
        for slot in 0..5 {
            v[slot] = slot as u32 * 10;
        }
        assert_eq!(
            (0..5).map(|s| v[s]).collect::<Vec<_>>(),
            [0, 10, 20, 30, 40]
        );
        assert_eq!(v.spilled.len(), 2);
        assert!(PerChannel::new(3, 0u8).spilled.is_empty());
    }
}
