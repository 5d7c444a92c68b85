//! A fast, deterministic hasher for the engine's maps.
//!
//! The engine's maps are keyed by ids Omniroute generates itself
//! (conversation ids, configured agent ids) and by internal sequences, so
//! they need no protection against chosen-key flooding; SipHash's cost
//! showed in the routing benchmark. This is the multiply-rotate scheme of
//! rustc's `FxHasher`, written out here to keep dependencies lean.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Builds [`FxHasher`]s.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxBuild;

impl BuildHasher for FxBuild {
    type Hasher = FxHasher;

    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

/// A word-at-a-time multiply-rotate hasher.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply-rotate rounds leave the low bits depending on the low
        // bits of the input only, and hash tables index by the low bits:
        // ids that differ in their last characters (`c1041`, `c1042`), or
        // keys that are themselves hashes, would pile into a few buckets.
        // A final xor-shift-multiply spreads every input bit over the word.
        let mut h = self.0;
        h ^= h >> 32;
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 29)
    }
}

/// A `HashMap` with [`FxBuild`].
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_strings_hash_apart_and_maps_work() {
        let h = |s: &str| {
            let mut hasher = FxBuild.build_hasher();
            hasher.write(s.as_bytes());
            hasher.finish()
        };
        assert_ne!(h("con_0001"), h("con_0002"));
        assert_ne!(h("abcdefgh1"), h("abcdefgh2"));
        assert_ne!(h(""), h("\0"));
        // Ids that differ only in their last characters spread over the
        // low bits, which hash tables index by.
        let low: std::collections::BTreeSet<u64> =
            (0..1024).map(|n| h(&format!("c{n}")) & 1023).collect();
        assert!(low.len() > 550, "{} of 1024 low-bit values", low.len());
        let mut map: FxMap<String, u32> = FxMap::default();
        for i in 0..1000 {
            map.insert(format!("con_{i:032x}"), i);
        }
        assert_eq!(map.get("con_000000000000000000000000000003e7"), Some(&999));
    }
}
