//! A short list kept inside its owner while it fits.
//!
//! An agent's assigned contacts and live offers are a handful of numbers,
//! read and changed by every release, offer and accept. In a `Vec` each of
//! those touches a separate heap block (a cache miss on a cold agent);
//! inline, they share the agent's own cache lines. Past `N` items the list
//! moves to the heap whole, so it is always one slice.

#[derive(Debug, Clone)]
pub(crate) struct SmallList<T: Copy + Default, const N: usize> {
    len: usize,
    inline: [T; N],
    /// Every item, once there are more than `N`; empty before.
    spilled: Vec<T>,
}

impl<T: Copy + Default, const N: usize> Default for SmallList<T, N> {
    fn default() -> Self {
        Self {
            len: 0,
            inline: [T::default(); N],
            spilled: Vec::new(),
        }
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> SmallList<T, N> {
    pub(crate) fn as_slice(&self) -> &[T] {
        if self.len > N {
            &self.spilled
        } else {
            &self.inline[..self.len]
        }
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.len < N {
            self.inline[self.len] = item;
        } else {
            if self.len == N {
                self.spilled.extend_from_slice(&self.inline);
            }
            self.spilled.push(item);
        }
        self.len += 1;
    }

    /// Keeps the items `keep` accepts, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        if self.len > N {
            self.spilled.retain(|x| keep(x));
            self.len = self.spilled.len();
            if self.len <= N {
                self.inline[..self.len].copy_from_slice(&self.spilled);
                self.spilled = Vec::new();
            }
            return;
        }
        let mut kept = 0;
        for i in 0..self.len {
            let item = self.inline[i];
            if keep(&item) {
                self.inline[kept] = item;
                kept += 1;
            }
        }
        self.len = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_across_the_inline_limit() {
        let mut list: SmallList<u32, 3> = SmallList::default();
        let mut model: Vec<u32> = Vec::new();
        let mut x: u32 = 7;
        for _ in 0..2_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if (x >> 16) % 5 < 3 {
                list.push(x % 11);
                model.push(x % 11);
            } else {
                let gone = (x >> 8) % 11;
                list.retain(|v| *v != gone);
                model.retain(|v| *v != gone);
            }
            assert_eq!(list.as_slice(), model.as_slice());
            assert_eq!(list.iter().count(), model.len());
        }
    }
}
