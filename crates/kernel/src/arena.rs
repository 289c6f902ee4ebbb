//! An append-only sequence whose elements never move, so readers borrow them while one writer
//! appends: the memory store's storage.
//!
//! Elements live in buckets of doubling size, allocated when first needed and never freed before
//! the arena. Each slot is a `OnceLock`: the writer fills it once, a reader sees it filled or
//! empty, never half-written. A [`Cursor`] walks the buckets as plain slices, so iterating costs
//! about what iterating a `Vec` does; [`Arena::get`] finds a slot by index in constant time.
//!
//! Safe Rust only: the `OnceLock`s are what lets a shared reference (`&self`) append.

use std::sync::OnceLock;

/// An append-only sequence of `T`. The first bucket holds `1 << FIRST_SHIFT` slots, each next
/// one twice as many, up to `BUCKETS` buckets.
pub(crate) struct Arena<T, const FIRST_SHIFT: u32, const BUCKETS: usize> {
    buckets: [OnceLock<Box<[OnceLock<T>]>>; BUCKETS],
}

/// The slot an index lives in: its bucket and its offset within.
#[derive(Clone, Copy)]
struct Location {
    bucket: usize,
    offset: usize,
}

impl<T, const FIRST_SHIFT: u32, const BUCKETS: usize> Arena<T, FIRST_SHIFT, BUCKETS> {
    const FIRST: usize = 1 << FIRST_SHIFT;

    /// How many elements the arena can hold.
    pub(crate) const CAPACITY: usize = Self::FIRST.saturating_mul((1 << BUCKETS) - 1);

    pub(crate) fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// Bucket `b` holds the indices `FIRST * (2^b - 1) .. FIRST * (2^(b+1) - 1)`.
    #[inline]
    fn locate(index: usize) -> Option<Location> {
        let shifted = index.checked_add(Self::FIRST)?;
        let bucket = (usize::BITS - 1 - shifted.leading_zeros() - FIRST_SHIFT) as usize;
        let offset = shifted - (Self::FIRST << bucket);
        (bucket < BUCKETS).then_some(Location { bucket, offset })
    }

    fn bucket_len(bucket: usize) -> usize {
        Self::FIRST << bucket
    }

    /// Fills the slot at `index`. The caller (the single writer) fills indices in order, each once.
    /// Gives the value back if the slot was filled already or the arena is full.
    pub(crate) fn set(&self, index: usize, value: T) -> Result<(), T> {
        let Some(location) = Self::locate(index) else {
            return Err(value);
        };
        let bucket = self.buckets[location.bucket].get_or_init(|| {
            (0..Self::bucket_len(location.bucket))
                .map(|_| OnceLock::new())
                .collect()
        });
        match bucket.get(location.offset) {
            Some(slot) => slot.set(value),
            None => Err(value),
        }
    }

    /// The element at `index`, if it has been filled.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        let location = Self::locate(index)?;
        self.buckets[location.bucket]
            .get()?
            .get(location.offset)?
            .get()
    }

    /// The elements from `start` (inclusive) to `end` (exclusive), in order; stops early at the
    /// first slot not filled yet.
    pub(crate) fn range(&self, start: usize, end: usize) -> Cursor<'_, T, FIRST_SHIFT, BUCKETS> {
        let mut cursor = Cursor {
            arena: Some(self),
            ..Cursor::empty()
        };
        if let Some(location) = Self::locate(start).filter(|_| start < end) {
            if let Some(bucket) = self.buckets[location.bucket].get() {
                cursor.bucket = location.bucket;
                cursor.remaining = end - start;
                cursor.take_from(bucket.get(location.offset..).unwrap_or_default());
            }
        }
        cursor
    }
}

/// Walks a range of an [`Arena`] bucket by bucket, each as a plain slice.
pub(crate) struct Cursor<'a, T, const FIRST_SHIFT: u32, const BUCKETS: usize> {
    /// `None` for an empty cursor.
    arena: Option<&'a Arena<T, FIRST_SHIFT, BUCKETS>>,
    /// The bucket `slots` belongs to.
    bucket: usize,
    /// What is left of the range in the current bucket.
    slots: std::slice::Iter<'a, OnceLock<T>>,
    /// What is left of the range after the current bucket.
    remaining: usize,
}

impl<'a, T, const FIRST_SHIFT: u32, const BUCKETS: usize> Cursor<'a, T, FIRST_SHIFT, BUCKETS> {
    /// A cursor over nothing.
    pub(crate) fn empty() -> Self {
        Self {
            arena: None,
            bucket: 0,
            slots: [].iter(),
            remaining: 0,
        }
    }

    /// Continues in `slots`, as much of them as the range still covers.
    fn take_from(&mut self, slots: &'a [OnceLock<T>]) {
        let taken = slots.len().min(self.remaining);
        self.slots = slots[..taken].iter();
        self.remaining -= taken;
    }

    // Inlined so the cursor's fields stay in registers in a caller's loop (an out-of-line call
    // taking `&mut self` makes the compiler keep the cursor in memory).
    #[inline(always)]
    fn next_bucket(&mut self) -> Option<&'a OnceLock<T>> {
        if self.remaining == 0 {
            return None;
        }
        self.bucket += 1;
        let arena: Option<&'a Arena<T, FIRST_SHIFT, BUCKETS>> = self.arena;
        match arena
            .and_then(|arena| arena.buckets.get(self.bucket))
            .and_then(OnceLock::get)
        {
            Some(bucket) => self.take_from(bucket),
            None => self.remaining = 0,
        }
        self.slots.next()
    }
}

impl<'a, T, const FIRST_SHIFT: u32, const BUCKETS: usize> Iterator
    for Cursor<'a, T, FIRST_SHIFT, BUCKETS>
{
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<&'a T> {
        let slot = match self.slots.next() {
            Some(slot) => slot,
            None => self.next_bucket()?,
        };
        let value = slot.get();
        if value.is_none() {
            // Not filled yet: the range ends here.
            self.slots = [].iter();
            self.remaining = 0;
        }
        value
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.slots.len() + self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Small = Arena<u64, 2, 8>;

    #[test]
    fn indices_map_to_doubling_buckets() {
        let starts: Vec<usize> = (0..4).map(|bucket| 4 * ((1 << bucket) - 1)).collect();
        assert_eq!(starts, vec![0, 4, 12, 28]);
        for (bucket, &start) in starts.iter().enumerate() {
            let location = Small::locate(start).unwrap();
            assert_eq!((location.bucket, location.offset), (bucket, 0));
        }
        let last = Small::locate(4 * ((1 << 8) - 1) - 1).unwrap();
        assert_eq!(last.bucket, 7);
        assert!(Small::locate(4 * ((1 << 8) - 1)).is_none());
        assert!(Small::locate(usize::MAX).is_none());
    }

    #[test]
    fn set_get_and_ranges_agree_across_buckets() {
        let arena = Small::new();
        for index in 0..100 {
            arena.set(index, index as u64 * 10).unwrap();
        }
        assert_eq!(arena.get(57), Some(&570));
        assert_eq!(arena.get(100), None);
        let all: Vec<u64> = arena.range(0, 100).copied().collect();
        assert_eq!(all, (0..100).map(|n| n * 10).collect::<Vec<_>>());
        let middle: Vec<u64> = arena.range(3, 30).copied().collect();
        assert_eq!(middle, (3..30).map(|n| n * 10).collect::<Vec<_>>());
        // A range past what was filled stops at the first empty slot.
        assert_eq!(arena.range(95, 500).count(), 5);
        assert_eq!(arena.range(200, 300).count(), 0);
        assert_eq!(arena.range(10, 5).count(), 0);
    }

    #[test]
    fn a_full_arena_or_a_filled_slot_gives_the_value_back() {
        let arena = Small::new();
        assert_eq!(arena.set(0, 1), Ok(()));
        assert_eq!(arena.set(0, 2), Err(2));
        assert_eq!(arena.set(usize::MAX, 3), Err(3));
        assert_eq!(arena.set(4 * 255, 4), Err(4));
    }
}
