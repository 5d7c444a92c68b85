//! Conversation id to contact slot: one array of `u64`, linear probing.
//!
//! Each entry packs the top 32 bits of the id's hash (the *tag*, which also
//! picks the entry's home position) with the slot plus one; 0 is empty. A
//! lookup touches one cache line where a general hash map touches two (its
//! control bytes and its buckets live apart), and the engine's most common
//! events (an arrival checking for a duplicate, a release finding its
//! contact) each start with a lookup in a table far larger than the cache.
//! Tags only narrow the search: the caller confirms each candidate slot
//! against the id it holds, so colliding hashes are found correctly.
//! Removal shifts later entries back (no tombstones), so probe sequences
//! stay as short as the load allows.

/// The table grows past this load (numerator over 4).
const MAX_LOAD_QUARTERS: usize = 3;
const MIN_CAPACITY: usize = 16;

#[derive(Debug, Clone, Default)]
pub(crate) struct IdTable {
    entries: Vec<u64>,
    len: usize,
}

fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

fn entry(tag: u32, slot: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(slot.wrapping_add(1))
}

impl IdTable {
    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    fn home(&self, tag: u32) -> usize {
        tag as usize & self.mask()
    }

    /// The first slot with this hash that `is` confirms.
    pub(crate) fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        let tag = tag(hash);
        let mut i = self.home(tag);
        loop {
            let e = self.entries[i];
            if e == 0 {
                return None;
            }
            if (e >> 32) as u32 == tag {
                let slot = (e as u32).wrapping_sub(1);
                if is(slot) {
                    return Some(slot);
                }
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Adds `slot` under `hash` (the caller knows it is not there yet).
    pub(crate) fn insert(&mut self, hash: u64, slot: u32) {
        if (self.len + 1) * 4 > self.entries.len() * MAX_LOAD_QUARTERS {
            self.grow();
        }
        self.place(entry(tag(hash), slot));
        self.len += 1;
    }

    fn place(&mut self, e: u64) {
        let mut i = self.home((e >> 32) as u32);
        while self.entries[i] != 0 {
            i = (i + 1) & self.mask();
        }
        self.entries[i] = e;
    }

    fn grow(&mut self) {
        let capacity = (self.entries.len() * 2).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.entries, vec![0; capacity]);
        for e in old.into_iter().filter(|e| *e != 0) {
            self.place(e);
        }
    }

    /// Removes `slot` from under `hash`; returns whether it was there.
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let wanted = entry(tag(hash), slot);
        let mask = self.mask();
        let mut i = self.home(tag(hash));
        loop {
            match self.entries[i] {
                0 => return false,
                e if e == wanted => break,
                _ => i = (i + 1) & mask,
            }
        }
        // Backward shift: move up every later entry of the run whose home
        // does not lie in (hole, entry], so no probe meets a false end.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let e = self.entries[j];
            if e == 0 {
                break;
            }
            let home = self.home((e >> 32) as u32);
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.entries[hole] = e;
                hole = j;
            }
        }
        self.entries[hole] = 0;
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference model: (hash, slot) pairs.
    fn check(table: &IdTable, model: &[(u64, u32)]) {
        assert_eq!(table.len, model.len());
        for (hash, slot) in model {
            assert_eq!(table.find(*hash, |s| s == *slot), Some(*slot));
        }
    }

    #[test]
    fn finds_removes_and_grows_with_colliding_hashes() {
        let mut table = IdTable::default();
        let mut model = Vec::new();
        // Few distinct hashes: long runs of equal tags and homes, plus
        // runs that wrap around the end of the array.
        let hash = |i: u32| {
            let tag = match i % 3 {
                0 => 7,
                1 => 15,
                _ => i,
            };
            u64::from(tag) << 32
        };
        let mut x: u32 = 1;
        for round in 0..4_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if model.len() < 40 && !(x >> 16).is_multiple_of(3) {
                let slot = round;
                table.insert(hash(slot), slot);
                model.push((hash(slot), slot));
            } else if !model.is_empty() {
                let (h, slot) = model.swap_remove((x >> 8) as usize % model.len());
                assert!(table.remove(h, slot));
                assert!(!table.remove(h, slot));
                assert_eq!(table.find(h, |s| s == slot), None);
            }
            check(&table, &model);
        }
        assert_eq!(table.find(hash(1), |_| false), None);
    }
}
