//! Identifiers of the kernel: stream ids, event ids and command ids.

use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest stream id the kernel accepts, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 256;

/// Why a string is not a valid [`StreamId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidStreamId {
    /// The stream id is the empty string.
    #[error("a stream id must not be empty")]
    Empty,
    /// The stream id is longer than [`MAX_STREAM_ID_LEN`] bytes.
    #[error("stream id of {len} bytes is longer than the {MAX_STREAM_ID_LEN} bytes allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The stream id contains a control character (newline, NUL, ...).
    #[error("stream id {id:?} contains a control character")]
    ControlCharacter {
        /// The offending id.
        id: String,
    },
}

/// The name of one stream of events: one aggregate instance, such as `product-0190…`.
///
/// Valid stream ids are non-empty, at most [`MAX_STREAM_ID_LEN`] bytes long and free of control
/// characters. Cloning is cheap (a shared string).
///
/// A stream id carries the hash of its name, computed once when it is made: every map keyed by
/// stream (the stores' indexes, the repository's cache, projections' entity states) hashes the
/// id once per event or command, and a 64-bit number costs nothing to hash where a name of 45
/// bytes, read from memory the processor has not seen yet, does. Two ids sharing one name
/// (copies of one another, as the memory store hands out) compare equal without reading it.
/// The hash is seeded randomly per process, so it is never stored and crafted names cannot make
/// them collide on purpose. Ids order by name.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId {
    name: Arc<str>,
    hash: u64,
}

/// The seeded hasher of stream names, one per process.
static STREAM_NAME_HASHER: LazyLock<foldhash::quality::RandomState> =
    LazyLock::new(Default::default);

impl StreamId {
    /// Validates `id` and makes it a stream id.
    ///
    /// ```
    /// use service_lifecycle_kernel::StreamId;
    /// assert!(StreamId::new("product-42").is_ok());
    /// assert!(StreamId::new("").is_err());
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidStreamId> {
        let id: String = id.into();
        if id.is_empty() {
            return Err(InvalidStreamId::Empty);
        }
        if id.len() > MAX_STREAM_ID_LEN {
            return Err(InvalidStreamId::TooLong { len: id.len() });
        }
        if id.chars().any(char::is_control) {
            return Err(InvalidStreamId::ControlCharacter { id });
        }
        Ok(Self {
            hash: STREAM_NAME_HASHER.hash_one(id.as_str()),
            name: Arc::from(id),
        })
    }

    /// The conventional stream id of an entity: `{category}-{id}`, for example
    /// `product-0190a1b2-…`.
    pub fn for_entity(category: &str, id: impl fmt::Display) -> Result<Self, InvalidStreamId> {
        Self::new(format!("{category}-{id}"))
    }

    /// The stream id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl PartialEq for StreamId {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.name, &other.name) || self.name == other.name)
    }
}

impl Eq for StreamId {}

impl Hash for StreamId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialOrd for StreamId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StreamId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name.cmp(&other.name)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:?})", &*self.name)
    }
}

impl TryFrom<String> for StreamId {
    type Error = InvalidStreamId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&str> for StreamId {
    type Error = InvalidStreamId;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StreamId> for String {
    fn from(value: StreamId) -> Self {
        value.name.to_string()
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// The unique id of one stored event: a UUIDv7.
///
/// Event ids are UUIDv7 (RFC 9562): time-ordered, so an index on them stays append-friendly. They
/// come from a per-thread monotonic generator seeded once from the operating system, so creating one
/// costs a clock read and a few arithmetic steps, not a system call for randomness.
///
/// An event id can also be *derived* from a [`CommandId`] and the event's index in the command's
/// result. That is what makes a command idempotent across processes: executing the same command
/// again produces the same event ids, and the store already knows them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    /// A fresh, time-ordered event id.
    #[allow(clippy::new_without_default)] // a fresh id is not a "default" value
    pub fn new() -> Self {
        Self(generate_v7())
    }

    /// A fresh event id whose timestamp is `time` (the time the event is recorded), saving a
    /// second clock read when the caller already has one. Ids from one thread stay strictly
    /// increasing even if `time` goes backwards.
    pub fn new_at(time: DateTime<Utc>) -> Self {
        Self(generate_v7_at(
            u64::try_from(time.timestamp_millis()).unwrap_or(0),
        ))
    }

    /// Wraps an existing UUID (for example one read back from storage).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The id of the `index`-th event produced by the command `command`.
    ///
    /// Deterministic: the same command id and index give the same event id in every process, which
    /// is how re-executing a command is recognised. The result is a valid UUIDv7 whose timestamp is
    /// the command id's (a UUIDv7 command id carries the time it was issued).
    pub fn derived(command: CommandId, index: u32) -> Self {
        let bits = command.0.as_u128();
        let high = (bits >> 64) as u64;
        let low = bits as u64;
        let a = mix64(high ^ mix64(low ^ u64::from(index)));
        let b = mix64(low.rotate_left(17) ^ a ^ u64::from(index).wrapping_mul(0x9E37_79B9));
        let millis = (bits >> 80) as u64;
        Self(compose_v7(millis, (a >> 52) as u16, b))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0)
    }
}

/// The id of one command, chosen by its sender. Executing a command twice with the same id has the
/// effect of executing it once (see [`Repository::execute`](crate::Repository::execute)).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommandId(Uuid);

impl CommandId {
    /// A fresh, time-ordered command id (UUIDv7).
    #[allow(clippy::new_without_default)] // a fresh id is not a "default" value
    pub fn new() -> Self {
        Self(generate_v7())
    }

    /// A fresh command id whose timestamp is `time`, saving a clock read when the caller has one.
    pub fn new_at(time: DateTime<Utc>) -> Self {
        Self(generate_v7_at(
            u64::try_from(time.timestamp_millis()).unwrap_or(0),
        ))
    }

    /// Wraps an existing UUID, for example a request id received from a client.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandId({})", self.0)
    }
}

/// SplitMix64's finaliser: a fast, well-distributed, stable 64-bit mixing function.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic UUID (version 8, variant 10) derived from a namespace UUID and a name: the same
/// inputs give the same id in every process and every release of this library, so an id can be
/// derived from a business key (a model and a serial number, say) instead of being looked up.
///
/// ```
/// use service_lifecycle_kernel::derived_uuid;
///
/// let namespace = uuid::Uuid::from_u128(7);
/// assert_eq!(derived_uuid(namespace, b"WM-1001"), derived_uuid(namespace, b"WM-1001"));
/// assert_ne!(derived_uuid(namespace, b"WM-1001"), derived_uuid(namespace, b"WM-1002"));
/// assert_eq!(derived_uuid(namespace, b"WM-1001").get_version_num(), 8);
/// ```
pub fn derived_uuid(namespace: Uuid, name: &[u8]) -> Uuid {
    let mut high = namespace.as_u128() as u64;
    let mut low = (namespace.as_u128() >> 64) as u64;
    for &byte in name {
        high = mix64(high ^ u64::from(byte));
        low = mix64(low.rotate_left(7) ^ high);
    }
    let bits = (u128::from(high) << 64) | u128::from(low);
    // Version 8 (custom), variant 10.
    let bits = (bits & !(0xF << 76) & !(0b11 << 62)) | (0x8 << 76) | (0b10 << 62);
    Uuid::from_u128(bits)
}

/// Lays out a UUIDv7: 48 bits of Unix milliseconds, version 7, 12 bits `rand_a`, variant 10,
/// 62 bits `rand_b`.
fn compose_v7(millis: u64, rand_a: u16, rand_b: u64) -> Uuid {
    let millis = u128::from(millis & 0xFFFF_FFFF_FFFF);
    let rand_a = u128::from(rand_a & 0x0FFF);
    let rand_b = u128::from(rand_b & 0x3FFF_FFFF_FFFF_FFFF);
    Uuid::from_u128((millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
}

/// Per-thread state of the UUIDv7 generator.
struct V7Generator {
    last_millis: Cell<u64>,
    /// 74-bit counter (rand_a then rand_b), randomly seeded each millisecond and incremented within
    /// one, so ids from one thread are strictly increasing (RFC 9562 §6.2, method 2).
    counter: Cell<u128>,
    rng: Cell<u64>,
}

const COUNTER_BITS: u32 = 74;

thread_local! {
    static GENERATOR: V7Generator = V7Generator {
        last_millis: Cell::new(0),
        counter: Cell::new(0),
        rng: Cell::new(Uuid::new_v4().as_u128() as u64 | 1),
    };
}

fn generate_v7() -> Uuid {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0);
    generate_v7_at(now)
}

fn generate_v7_at(now: u64) -> Uuid {
    GENERATOR.with(|generator| {
        let next_random = || {
            let state = generator.rng.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            generator.rng.set(state);
            mix64(state)
        };
        let mut millis = generator.last_millis.get();
        let mut counter = generator.counter.get() + 1;
        if now > millis || counter >> COUNTER_BITS != 0 {
            // A new millisecond (or an exhausted counter): reseed, leaving the top bit clear so
            // the counter has room to grow within the millisecond.
            millis = now.max(millis + u64::from(counter >> COUNTER_BITS != 0));
            let seed = (u128::from(next_random()) << 64) | u128::from(next_random());
            counter = seed & ((1u128 << (COUNTER_BITS - 1)) - 1);
        }
        generator.last_millis.set(millis);
        generator.counter.set(counter);
        compose_v7(millis, (counter >> 62) as u16, counter as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_event_ids_are_version_7_and_strictly_increasing_on_one_thread() {
        let ids: Vec<EventId> = (0..10_000).map(|_| EventId::new()).collect();
        for id in &ids {
            assert_eq!(id.as_uuid().get_version_num(), 7);
            assert_eq!(id.as_uuid().get_variant(), uuid::Variant::RFC4122);
        }
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn ids_at_a_given_time_carry_it_and_stay_increasing_when_time_goes_back() {
        let now = Utc::now();
        let first = EventId::new_at(now);
        assert_eq!(
            first.as_uuid().as_u128() >> 80,
            now.timestamp_millis() as u128
        );
        let earlier = EventId::new_at(now - chrono::Duration::seconds(5));
        assert!(earlier > first);
        assert_eq!(earlier.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn derived_event_ids_are_deterministic_version_7_and_distinct_per_index() {
        let command = CommandId::new();
        let first = EventId::derived(command, 0);
        assert_eq!(first, EventId::derived(command, 0));
        assert_ne!(first, EventId::derived(command, 1));
        assert_ne!(first, EventId::derived(CommandId::new(), 0));
        assert_eq!(first.as_uuid().get_version_num(), 7);
        // The timestamp is the command's.
        assert_eq!(
            first.as_uuid().as_u128() >> 80,
            command.as_uuid().as_u128() >> 80
        );
    }

    #[test]
    fn derived_uuids_never_change_between_releases() {
        // Ids derived from business keys are stored (as stream names, say): a change of the
        // mixing would orphan whatever was stored under them.
        let id = derived_uuid(Uuid::from_u128(7), b"WM-1001");
        assert_eq!(id.to_string(), "f51c4ed0-98ba-8bd4-8a3a-9da1831ec57a");
    }

    #[test]
    fn stream_ids_reject_empty_long_and_control_characters() {
        assert_eq!(StreamId::new(""), Err(InvalidStreamId::Empty));
        assert_eq!(
            StreamId::new("x".repeat(MAX_STREAM_ID_LEN + 1)),
            Err(InvalidStreamId::TooLong {
                len: MAX_STREAM_ID_LEN + 1
            })
        );
        assert!(matches!(
            StreamId::new("a\nb"),
            Err(InvalidStreamId::ControlCharacter { .. })
        ));
        assert!(StreamId::new("x".repeat(MAX_STREAM_ID_LEN)).is_ok());
        assert_eq!(
            StreamId::for_entity("product", 7).unwrap().as_str(),
            "product-7"
        );
    }

    proptest::proptest! {
        /// The cached hash and the shortcut by address change nothing of what equality, hashing
        /// and order mean: ids made separately from one name are equal and hash alike; ids of
        /// different names are not equal; ids order as their names do.
        #[test]
        fn stream_ids_compare_hash_and_order_by_their_names(
            a in "[a-z0-9-]{1,48}",
            b in "[a-z0-9-]{1,48}",
        ) {
            let (first, second) = (StreamId::new(a.clone()).unwrap(), StreamId::new(b.clone()).unwrap());
            let again = StreamId::new(a.clone()).unwrap();
            proptest::prop_assert_eq!(&first, &again);
            proptest::prop_assert_eq!(&first, &first.clone());
            let hasher = std::collections::hash_map::RandomState::new();
            proptest::prop_assert_eq!(hasher.hash_one(&first), hasher.hash_one(&again));
            proptest::prop_assert_eq!(first == second, a == b);
            proptest::prop_assert_eq!(first.cmp(&second), a.cmp(&b));
        }
    }

    #[test]
    fn stream_ids_are_validated_when_deserialized() {
        let parsed: Result<StreamId, _> = serde_json::from_str("\"\"");
        assert!(parsed.is_err());
        let parsed: StreamId = serde_json::from_str("\"product-1\"").unwrap();
        assert_eq!(parsed.as_str(), "product-1");
    }
}
