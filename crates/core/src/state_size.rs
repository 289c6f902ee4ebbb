//! Estimates of the memory an aggregate's state holds, for state caches bounded in bytes
//! ([`Decider::state_size`](crate::kernel::Decider::state_size)): the state itself plus what
//! its collections hold, from their lengths. Cheap enough for every cached command; close
//! enough that a budget in bytes bounds what the cache really holds.

use std::mem::size_of;

/// What a `BTreeMap<K, V>` (or a `BTreeSet` with `V = ()`) of `len` entries holds: each
/// entry, and the tree's nodes around it (about a third more).
pub(crate) fn map<K, V>(len: usize) -> usize {
    len * (size_of::<K>() + size_of::<V>()) * 4 / 3
}

/// What a list of strings holds.
pub(crate) fn strings<'a>(texts: impl IntoIterator<Item = &'a String>) -> usize {
    texts
        .into_iter()
        .map(|text| size_of::<String>() + text.capacity())
        .sum()
}
