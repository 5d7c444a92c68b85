//! The open-agent index: which agents could take a contact on a channel
//! right now, by skill and by language, in ranking order.
//!
//! An agent is *open* on a channel when it is available and has room there
//! (per channel and in total). Each open agent has one key per channel: a
//! `u128` that sorts like the default selection order, so the first key of a
//! skill's set is the best agent for a single-skill requirement:
//!
//! ```text
//! bits 124-127  15 - proficiency in the skill (higher proficiency first)
//! bits  92-123  occupancy on the channel, occupied * 2^32 / capacity
//! bits  28-91   last assignment (0 = never: idlest first), sign-flipped
//! bits   0-27   the agent's rank in id order (the final tie-break)
//! ```
//!
//! The occupancy field is exact for capacities below 2^16: two different
//! fractions with such denominators differ by more than 2^-32. Per skill
//! and channel the index also counts open agents per proficiency level, so
//! the eligible-set size of a `skill >= n` requirement is O(10).
//!
//! For each (skill, language) pair some requirement names together
//! (`skill >= n AND lang == "x"`, the usual contact-center routing), a
//! pair set holds the open agents with both, keyed and counted the same
//! way: such a requirement is decided by the index alone too.

use std::collections::{BTreeSet, HashMap};

use omni_core::time::Millis;

use crate::channels::PerChannel;
use crate::requirement::MAX_LEVEL;

/// Interned skill or language name.
pub(crate) type NameId = u32;

/// Names to dense ids, in first-seen order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: HashMap<String, NameId>,
    names: Vec<String>,
}

impl Interner {
    pub(crate) fn intern(&mut self, name: &str) -> NameId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = NameId::try_from(self.names.len()).unwrap_or(NameId::MAX);
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        id
    }

    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<NameId> {
        self.ids.get(name).copied()
    }

    pub(crate) fn name(&self, id: NameId) -> &str {
        self.names
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// Bits of the rank field.
const RANK_BITS: u32 = 28;
const RANK_MASK: u128 = (1 << RANK_BITS) - 1;

/// The part of an agent's key that does not depend on the skill.
pub(crate) fn base_key(
    occupied: u32,
    capacity: u32,
    last_assigned_ms: Option<Millis>,
    rank: u32,
) -> u128 {
    let occupancy = if capacity == 0 {
        u32::MAX
    } else {
        let scaled = (u64::from(occupied) << 32) / u64::from(capacity);
        u32::try_from(scaled).unwrap_or(u32::MAX)
    };
    let idle = match last_assigned_ms {
        None => 0,
        Some(at) => ((at as u64) ^ (1 << 63)).max(1),
    };
    (u128::from(occupancy) << 92) | (u128::from(idle) << RANK_BITS) | (u128::from(rank) & RANK_MASK)
}

/// The key of an agent with `level` in a skill.
pub(crate) fn skill_key(base: u128, level: u8) -> u128 {
    (u128::from(15 - level.min(MAX_LEVEL)) << 124) | base
}

/// The agent rank a key carries.
pub(crate) fn rank_of(key: u128) -> u32 {
    (key & RANK_MASK) as u32
}

/// The proficiency a skill key carries.
#[cfg(test)]
pub(crate) fn level_of(key: u128) -> u8 {
    15 - (key >> 124) as u8
}

/// The key range of levels `lo..=hi` in a skill set.
pub(crate) fn level_range(lo: u8, hi: u8) -> std::ops::RangeInclusive<u128> {
    let start = u128::from(15 - hi.min(MAX_LEVEL)) << 124;
    let end = (u128::from(15 - lo.min(MAX_LEVEL)) << 124) | ((1u128 << 124) - 1);
    start..=end
}

/// Open agents per channel: by skill, and (only when some queue needs
/// them) all of them and by language.
#[derive(Debug, Clone)]
pub(crate) struct OpenIndex {
    /// How many channels the engine routes (the sets are per dense slot).
    pub(crate) channels: usize,
    /// Maintain `all`: some requirement has no skill or language cover.
    pub(crate) track_all: bool,
    /// Maintain `by_lang[l]`: some requirement's cover uses language `l`.
    pub(crate) track_lang: Vec<bool>,
    pub(crate) all: PerChannel<BTreeSet<u128>>,
    pub(crate) by_skill: Vec<PerChannel<BTreeSet<u128>>>,
    /// Open agents per skill, channel and level (index 0 unused).
    pub(crate) levels: Vec<PerChannel<[u32; 11]>>,
    pub(crate) by_lang: Vec<PerChannel<BTreeSet<u128>>>,
    /// Per skill: (language, pair) for every tracked pair with the skill.
    pub(crate) pairs_of_skill: Vec<Vec<(NameId, u32)>>,
    pub(crate) pairs: Vec<PairSet>,
}

/// Open agents with a skill who speak a language, per channel, keyed like
/// the skill's set, with counts per level.
#[derive(Debug, Clone)]
pub(crate) struct PairSet {
    pub(crate) sets: PerChannel<BTreeSet<u128>>,
    pub(crate) levels: PerChannel<[u32; 11]>,
}

impl PairSet {
    fn new(channels: usize) -> Self {
        Self {
            sets: PerChannel::new(channels, BTreeSet::new()),
            levels: PerChannel::new(channels, [0; 11]),
        }
    }
}

/// Puts `key` in `set` when `ADD`, else takes it out.
#[inline]
fn set_key<const ADD: bool>(set: &mut BTreeSet<u128>, key: u128) {
    if ADD {
        set.insert(key);
    } else {
        set.remove(&key);
    }
}

/// Counts one more when `ADD`, else one fewer (never below zero).
#[inline]
fn count_key<const ADD: bool>(count: &mut u32) {
    if ADD {
        *count += 1;
    } else {
        *count = count.saturating_sub(1);
    }
}

/// Open agents at a level in `lo..=hi`, from counts per level.
pub(crate) fn count_levels(levels: &[u32; 11], lo: u8, hi: u8) -> u32 {
    levels[usize::from(lo.max(1))..=usize::from(hi.min(MAX_LEVEL))]
        .iter()
        .sum()
}

impl OpenIndex {
    /// An empty index over `channels` channels.
    pub(crate) fn new(channels: usize) -> Self {
        Self {
            channels,
            track_all: false,
            track_lang: Vec::new(),
            all: PerChannel::new(channels, BTreeSet::new()),
            by_skill: Vec::new(),
            levels: Vec::new(),
            by_lang: Vec::new(),
            pairs_of_skill: Vec::new(),
            pairs: Vec::new(),
        }
    }

    /// Makes room for `skills` skills and `langs` languages.
    pub(crate) fn grow(&mut self, skills: usize, langs: usize) {
        if self.by_skill.len() < skills {
            let n = self.channels;
            self.by_skill
                .resize_with(skills, || PerChannel::new(n, BTreeSet::new()));
            self.levels.resize(skills, PerChannel::new(n, [0; 11]));
            self.pairs_of_skill.resize_with(skills, Vec::new);
        }
        if self.by_lang.len() < langs {
            let n = self.channels;
            self.by_lang
                .resize_with(langs, || PerChannel::new(n, BTreeSet::new()));
            self.track_lang.resize(langs, false);
        }
    }

    /// Adds an open agent's keys on `channel` to every set it belongs in
    /// (`ADD`), or takes them out: one walk over the sets, so adding and
    /// removing cannot drift apart.
    #[inline]
    pub(crate) fn update<const ADD: bool>(
        &mut self,
        channel: usize,
        base: u128,
        skills: &[(NameId, u8)],
        langs: &[NameId],
    ) {
        if self.track_all {
            set_key::<ADD>(&mut self.all[channel], base);
        }
        for (skill, level) in skills {
            let s = *skill as usize;
            let key = skill_key(base, *level);
            let lv = usize::from((*level).min(MAX_LEVEL));
            set_key::<ADD>(&mut self.by_skill[s][channel], key);
            count_key::<ADD>(&mut self.levels[s][channel][lv]);
            for (lang, p) in &self.pairs_of_skill[s] {
                if langs.contains(lang) {
                    let pair = &mut self.pairs[*p as usize];
                    set_key::<ADD>(&mut pair.sets[channel], key);
                    count_key::<ADD>(&mut pair.levels[channel][lv]);
                }
            }
        }
        for lang in langs {
            if self.track_lang[*lang as usize] {
                set_key::<ADD>(&mut self.by_lang[*lang as usize][channel], base);
            }
        }
    }

    /// Open agents on `channel` with `skill` at a level in `lo..=hi`.
    pub(crate) fn count(&self, skill: NameId, channel: usize, lo: u8, hi: u8) -> u32 {
        self.levels
            .get(skill as usize)
            .map(|levels| count_levels(&levels[channel], lo, hi))
            .unwrap_or(0)
    }

    /// The pair set of `skill` and `lang`, if tracked.
    pub(crate) fn pair(&self, skill: NameId, lang: NameId) -> Option<&PairSet> {
        let (_, p) = self
            .pairs_of_skill
            .get(skill as usize)?
            .iter()
            .find(|(l, _)| *l == lang)?;
        self.pairs.get(*p as usize)
    }

    /// Starts keeping the pair set of `skill` and `lang` (empty: the caller
    /// reindexes every agent). Returns whether it is new.
    pub(crate) fn track_pair(&mut self, skill: NameId, lang: NameId) -> bool {
        if self.pair(skill, lang).is_some() {
            return false;
        }
        let p = self.pairs.len() as u32;
        self.pairs.push(PairSet::new(self.channels));
        self.pairs_of_skill[skill as usize].push((lang, p));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_like_the_default_selection_order() {
        let mut keys = [
            (skill_key(base_key(0, 3, None, 4), 5), "low proficiency"),
            (skill_key(base_key(1, 3, None, 3), 9), "busier"),
            (skill_key(base_key(1, 4, None, 2), 9), "less occupied"),
            (
                skill_key(base_key(1, 4, Some(50), 1), 9),
                "recently assigned",
            ),
            (skill_key(base_key(1, 4, None, 5), 9), "same, later id"),
            (
                skill_key(base_key(1, 4, Some(-7), 0), 9),
                "assigned before 1970",
            ),
        ];
        keys.sort();
        let order: Vec<_> = keys.iter().map(|k| k.1).collect();
        assert_eq!(
            order,
            [
                "less occupied",
                "same, later id",
                "assigned before 1970",
                "recently assigned",
                "busier",
                "low proficiency"
            ]
        );
        let k = skill_key(base_key(2, 2, Some(1), 77), 7);
        assert_eq!((rank_of(k), level_of(k)), (77, 7));
        assert!(level_range(7, 10).contains(&k) && !level_range(8, 10).contains(&k));
        // Equal fractions are equal keys; different ones differ.
        assert_eq!(base_key(1, 2, None, 0), base_key(2, 4, None, 0));
        assert!(base_key(21844, 65535, None, 0) < base_key(1, 3, None, 0));
    }

    #[test]
    fn counts_by_level() {
        let mut index = OpenIndex::new(3);
        index.grow(2, 1);
        index.track_lang[0] = true;
        index.update::<true>(0, base_key(0, 1, None, 0), &[(0, 3), (1, 8)], &[0]);
        index.update::<true>(0, base_key(0, 1, None, 1), &[(0, 7)], &[]);
        assert_eq!(index.count(0, 0, 1, 10), 2);
        assert_eq!(index.count(0, 0, 5, 10), 1);
        assert_eq!(index.count(1, 0, 8, 8), 1);
        assert_eq!(index.count(0, 1, 1, 10), 0);
        index.update::<false>(0, base_key(0, 1, None, 1), &[(0, 7)], &[]);
        assert_eq!(index.count(0, 0, 5, 10), 0);
        assert_eq!(index.by_lang[0][0].len(), 1);
    }
}
