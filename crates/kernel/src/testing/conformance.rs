//! The store conformance suite: what every [`EventStore`] must do, checked the same way for every
//! store (memory, sled, yours).
//!
//! Call [`run_all`] with a function that makes an empty store; each check gets a fresh one. Each
//! check is also public on its own, so a store's test file can name them one by one.
//!
//! ```
//! use service_lifecycle_kernel::testing::conformance;
//! use service_lifecycle_kernel::MemoryStore;
//!
//! conformance::run_all(MemoryStore::new);
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fixture::{fixture_time, noted, stream, ProbeEvent};
use crate::{
    AppendError, Causation, Envelope, Event, EventId, EventStore, ExpectedVersion, NewEvent,
    StreamId,
};

/// Runs every check of the suite, each on a fresh store from `make_store`.
pub fn run_all<S: EventStore<ProbeEvent>>(make_store: impl Fn() -> S) {
    first_append_starts_at_version_one_and_position_one(make_store());
    expected_version_rules_are_enforced(make_store());
    stale_expected_version_returns_conflict_naming_both_versions_and_writes_nothing(make_store());
    multi_event_append_is_contiguous_and_atomic(make_store());
    empty_append_is_refused(make_store());
    checking_events_refuses_what_an_append_refuses_and_writes_nothing(make_store());
    invalid_event_type_names_are_refused_and_nothing_is_written(make_store());
    repeated_event_id_within_one_append_is_refused(make_store());
    retry_with_same_ids_and_content_returns_original_result_and_writes_nothing(make_store());
    retry_with_same_ids_and_other_content_is_refused(make_store());
    retry_that_partially_overlaps_a_stored_append_is_refused(make_store());
    retry_into_another_stream_is_refused(make_store());
    read_stream_starts_at_the_requested_version(make_store());
    read_all_follows_commit_order_with_contiguous_positions(make_store());
    reads_do_not_see_events_committed_after_they_started(make_store());
    envelopes_are_stored_as_given(make_store());
    find_event_locates_stored_events(make_store());
    encoded_events_are_the_stored_events(make_store());
    concurrent_writers_on_one_stream_either_succeed_or_conflict(make_store());
    concurrent_writers_on_distinct_streams_all_succeed_with_contiguous_positions(make_store());
    concurrent_readers_never_see_part_of_an_append(make_store());
}

fn batch(seqs: std::ops::Range<u64>) -> Vec<NewEvent<ProbeEvent>> {
    seqs.map(noted).collect()
}

fn read_stream<S: EventStore<ProbeEvent>>(
    store: &S,
    stream: &StreamId,
) -> Vec<Envelope<ProbeEvent>> {
    store
        .read_stream(stream, 1)
        .expect("read_stream")
        .map(|stored| stored.expect("stored event").into_owned())
        .collect()
}

fn read_all<S: EventStore<ProbeEvent>>(store: &S, from: u64) -> Vec<Envelope<ProbeEvent>> {
    store
        .read_all(from)
        .expect("read_all")
        .map(|stored| stored.expect("stored event").into_owned())
        .collect()
}

fn assert_unchanged<S: EventStore<ProbeEvent>>(store: &S, head: u64, what: &str) {
    assert_eq!(
        store.head_position().expect("head"),
        head,
        "{what}: the head moved"
    );
    assert_eq!(
        read_all(store, 1).len() as u64,
        head,
        "{what}: events were written"
    );
}

/// The first append to a new stream gets version 1 and position 1.
pub fn first_append_starts_at_version_one_and_position_one<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    assert_eq!(store.head_position().unwrap(), 0);
    assert_eq!(store.stream_version(&a).unwrap(), 0);
    let result = store
        .append(&a, ExpectedVersion::NoStream, batch(0..1))
        .unwrap();
    assert_eq!((result.first_version, result.last_version), (1, 1));
    assert_eq!((result.first_position, result.last_position), (1, 1));
    assert_eq!(store.stream_version(&a).unwrap(), 1);
    assert_eq!(store.head_position().unwrap(), 1);
}

/// `Any`, `NoStream`, `StreamExists` and `Exact` accept and refuse what they say.
pub fn expected_version_rules_are_enforced<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let conflict =
        |result: Result<_, AppendError>, expected: ExpectedVersion, actual: u64| match result {
            Err(AppendError::Conflict {
                expected: got_expected,
                actual: got_actual,
                ..
            }) => {
                assert_eq!((got_expected, got_actual), (expected, actual));
            }
            other => panic!("expected a conflict ({expected} at {actual}), got {other:?}"),
        };
    conflict(
        store.append(&a, ExpectedVersion::StreamExists, batch(0..1)),
        ExpectedVersion::StreamExists,
        0,
    );
    conflict(
        store.append(&a, ExpectedVersion::Exact(1), batch(0..1)),
        ExpectedVersion::Exact(1),
        0,
    );
    store
        .append(&a, ExpectedVersion::Exact(0), batch(0..1))
        .unwrap();
    conflict(
        store.append(&a, ExpectedVersion::NoStream, batch(1..2)),
        ExpectedVersion::NoStream,
        1,
    );
    store
        .append(&a, ExpectedVersion::StreamExists, batch(1..2))
        .unwrap();
    store
        .append(&a, ExpectedVersion::Exact(2), batch(2..3))
        .unwrap();
    store.append(&a, ExpectedVersion::Any, batch(3..4)).unwrap();
    store
        .append(&stream("conformance-b"), ExpectedVersion::Any, batch(4..5))
        .unwrap();
    assert_eq!(store.stream_version(&a).unwrap(), 4);
    assert_eq!(store.head_position().unwrap(), 5);
}

/// A stale `Exact` version is a conflict naming both versions, and nothing is written.
pub fn stale_expected_version_returns_conflict_naming_both_versions_and_writes_nothing<
    S: EventStore<ProbeEvent>,
>(
    store: S,
) {
    let a = stream("conformance-a");
    store
        .append(&a, ExpectedVersion::NoStream, batch(0..3))
        .unwrap();
    let error = store
        .append(&a, ExpectedVersion::Exact(2), batch(3..5))
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            AppendError::Conflict {
                expected: ExpectedVersion::Exact(2),
                actual: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        message.contains("version 2") && message.contains("version 3"),
        "{message}"
    );
    assert_unchanged(&store, 3, "a conflicting append");
}

/// Many events in one append get contiguous versions and positions, and a reader sees them all.
pub fn multi_event_append_is_contiguous_and_atomic<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let b = stream("conformance-b");
    store.append(&b, ExpectedVersion::Any, batch(0..2)).unwrap();
    let result = store
        .append(&a, ExpectedVersion::NoStream, batch(2..12))
        .unwrap();
    assert_eq!((result.first_version, result.last_version), (1, 10));
    assert_eq!((result.first_position, result.last_position), (3, 12));
    let events = read_stream(&store, &a);
    assert_eq!(events.len(), 10);
    for (offset, envelope) in (0u64..).zip(&events) {
        assert_eq!(envelope.stream_version, 1 + offset);
        assert_eq!(envelope.position, 3 + offset);
        assert_eq!(envelope.event, ProbeEvent::noted(2 + offset));
    }
}

/// An append with no events is refused.
pub fn empty_append_is_refused<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let error = store
        .append(&a, ExpectedVersion::Any, Vec::new())
        .unwrap_err();
    assert!(matches!(error, AppendError::Empty { .. }), "{error:?}");
    assert_unchanged(&store, 0, "an empty append");
    assert_eq!(store.stream_version(&a).unwrap(), 0);
}

/// `check_events` refuses what every append is refused for (empty, a bad type name, an id twice),
/// accepts what an append would take, and writes nothing either way.
pub fn checking_events_refuses_what_an_append_refuses_and_writes_nothing<
    S: EventStore<ProbeEvent>,
>(
    store: S,
) {
    let a = stream("conformance-a");
    let empty = store.check_events(&a, &[]).unwrap_err();
    assert!(matches!(empty, AppendError::Empty { .. }), "{empty:?}");
    let misnamed = [NewEvent::new(ProbeEvent::Misnamed, fixture_time())];
    let error = store.check_events(&a, &misnamed).unwrap_err();
    assert!(
        matches!(error, AppendError::InvalidEventType { .. }),
        "{error:?}"
    );
    let once = noted(1);
    let twice = [once.clone(), once];
    let error = store.check_events(&a, &twice).unwrap_err();
    assert!(
        matches!(error, AppendError::DuplicateEventId { .. }),
        "{error:?}"
    );
    store
        .check_events(&a, &[noted(2)])
        .expect("an event any store takes passes the check");
    assert_unchanged(&store, 0, "checking events");
    assert_eq!(store.stream_version(&a).unwrap(), 0);
}

/// Empty, spaced and over-long event type names are refused with nothing written, even when the
/// bad event is not the first of the append.
pub fn invalid_event_type_names_are_refused_and_nothing_is_written<S: EventStore<ProbeEvent>>(
    store: S,
) {
    let a = stream("conformance-a");
    let recorded_at = fixture_time();
    for bad in [
        ProbeEvent::Unnamed,
        ProbeEvent::Misnamed,
        ProbeEvent::Overlong,
    ] {
        let events = vec![noted(0), NewEvent::new(bad.clone(), recorded_at)];
        let error = store.append(&a, ExpectedVersion::Any, events).unwrap_err();
        assert!(
            matches!(error, AppendError::InvalidEventType { .. }),
            "{bad:?}: {error:?}"
        );
        assert_unchanged(&store, 0, "an append with an invalid event type");
    }
}

/// The same event id twice in one append is refused.
pub fn repeated_event_id_within_one_append_is_refused<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let first = noted(0);
    let twin = noted(1).with_id(first.event_id);
    let error = store
        .append(&a, ExpectedVersion::Any, vec![first, twin])
        .unwrap_err();
    assert!(
        matches!(error, AppendError::DuplicateEventId { .. }),
        "{error:?}"
    );
    assert_unchanged(&store, 0, "an append repeating an id");
}

/// Appending the same ids with the same content again returns the first result and writes
/// nothing, whatever the expected version says now.
pub fn retry_with_same_ids_and_content_returns_original_result_and_writes_nothing<
    S: EventStore<ProbeEvent>,
>(
    store: S,
) {
    let a = stream("conformance-a");
    store.append(&a, ExpectedVersion::Any, batch(0..1)).unwrap();
    let events = batch(1..4);
    let original = store
        .append(&a, ExpectedVersion::Exact(1), events.clone())
        .unwrap();
    store.append(&a, ExpectedVersion::Any, batch(4..5)).unwrap();
    // The retry's expected version is stale now, and it is stamped later: still the same result.
    let mut retry = events;
    for event in &mut retry {
        event.recorded_at += chrono::Duration::seconds(30);
    }
    let replayed = store.append(&a, ExpectedVersion::Exact(1), retry).unwrap();
    assert_eq!(replayed, original);
    assert_unchanged(&store, 5, "an idempotent retry");
}

/// Stored ids with other content are refused, and nothing is written.
pub fn retry_with_same_ids_and_other_content_is_refused<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let events = batch(0..2);
    store
        .append(&a, ExpectedVersion::Any, events.clone())
        .unwrap();

    let mut other_event = events.clone();
    other_event[1].event = ProbeEvent::noted(99);
    let mut other_chain = events.clone();
    other_chain[0] = other_chain[0]
        .clone()
        .caused_by(Causation::root(uuid::Uuid::new_v4()));
    let mut other_metadata = events.clone();
    other_metadata[0] = other_metadata[0]
        .clone()
        .with_metadata("user", "someone else");
    let reordered = vec![events[1].clone(), events[0].clone()];
    for retry in [other_event, other_chain, other_metadata, reordered] {
        let error = store.append(&a, ExpectedVersion::Any, retry).unwrap_err();
        assert!(
            matches!(error, AppendError::IdempotencyMismatch { .. }),
            "{error:?}"
        );
    }
    assert_unchanged(&store, 2, "a retry with other content");
}

/// An append of which only some ids are stored is refused, and nothing is written.
pub fn retry_that_partially_overlaps_a_stored_append_is_refused<S: EventStore<ProbeEvent>>(
    store: S,
) {
    let a = stream("conformance-a");
    let events = batch(0..3);
    store
        .append(&a, ExpectedVersion::Any, events.clone())
        .unwrap();

    let mut overlapping = events[1..].to_vec();
    overlapping.push(noted(3));
    let error = store
        .append(&a, ExpectedVersion::Any, overlapping)
        .unwrap_err();
    assert!(
        matches!(
            error,
            AppendError::PartialRetry {
                stored: 2,
                total: 3,
                ..
            }
        ),
        "{error:?}"
    );
    // A subset of a stored append is not the same append either.
    let error = store
        .append(&a, ExpectedVersion::Any, events[..2].to_vec())
        .unwrap_err();
    assert!(
        matches!(error, AppendError::IdempotencyMismatch { .. }),
        "{error:?}"
    );
    assert_unchanged(&store, 3, "a partially overlapping retry");
}

/// Stored ids sent to another stream are refused.
pub fn retry_into_another_stream_is_refused<S: EventStore<ProbeEvent>>(store: S) {
    let events = batch(0..1);
    store
        .append(
            &stream("conformance-a"),
            ExpectedVersion::Any,
            events.clone(),
        )
        .unwrap();
    let error = store
        .append(&stream("conformance-b"), ExpectedVersion::Any, events)
        .unwrap_err();
    assert!(
        matches!(error, AppendError::IdempotencyMismatch { .. }),
        "{error:?}"
    );
    assert_unchanged(&store, 1, "a retry into another stream");
    assert_eq!(store.stream_version(&stream("conformance-b")).unwrap(), 0);
}

/// Reading a stream from version `v` yields versions `v..`; a missing stream reads as empty.
pub fn read_stream_starts_at_the_requested_version<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    store.append(&a, ExpectedVersion::Any, batch(0..5)).unwrap();
    let versions = |from| -> Vec<u64> {
        store
            .read_stream(&a, from)
            .unwrap()
            .map(|stored| stored.unwrap().stream_version)
            .collect()
    };
    assert_eq!(versions(0), vec![1, 2, 3, 4, 5]);
    assert_eq!(versions(1), vec![1, 2, 3, 4, 5]);
    assert_eq!(versions(4), vec![4, 5]);
    assert!(versions(6).is_empty());
    assert!(versions(u64::MAX).is_empty());
    assert!(read_stream(&store, &stream("conformance-missing")).is_empty());
}

/// Read-all yields every event of every stream in commit order, positions 1, 2, 3, … with no gap.
pub fn read_all_follows_commit_order_with_contiguous_positions<S: EventStore<ProbeEvent>>(
    store: S,
) {
    let streams = [
        stream("conformance-a"),
        stream("conformance-b"),
        stream("conformance-c"),
    ];
    let mut seq = 0;
    for round in 0..4u64 {
        for (index, name) in (0u64..).zip(&streams) {
            let count = 1 + (round + index) % 3;
            store
                .append(name, ExpectedVersion::Any, batch(seq..seq + count))
                .unwrap();
            seq += count;
        }
    }
    let all = read_all(&store, 1);
    assert_eq!(all.len() as u64, seq);
    for (expected_position, envelope) in (1u64..).zip(&all) {
        assert_eq!(envelope.position, expected_position);
        assert_eq!(envelope.event, ProbeEvent::noted(expected_position - 1));
    }
    for name in &streams {
        let versions: Vec<u64> = read_stream(&store, name)
            .iter()
            .map(|e| e.stream_version)
            .collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
    }
    let tail = read_all(&store, seq - 2);
    assert_eq!(
        tail.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![seq - 2, seq - 1, seq]
    );
    assert!(read_all(&store, seq + 1).is_empty());
    assert_eq!(read_all(&store, 0).len() as u64, seq);
}

/// A read sees the store as of the moment it started.
pub fn reads_do_not_see_events_committed_after_they_started<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    store.append(&a, ExpectedVersion::Any, batch(0..2)).unwrap();
    let all = store.read_all(1).unwrap();
    let own = store.read_stream(&a, 1).unwrap();
    store.append(&a, ExpectedVersion::Any, batch(2..4)).unwrap();
    assert_eq!(all.count(), 2);
    assert_eq!(own.count(), 2);
    assert_eq!(read_all(&store, 1).len(), 4);
}

/// Every field of an envelope reads back as it was appended.
pub fn envelopes_are_stored_as_given<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let event = noted(7)
        .caused_by(Causation {
            correlation_id: uuid::Uuid::new_v4(),
            causation_id: uuid::Uuid::new_v4(),
        })
        .with_metadata("user", "clerk-1")
        .with_metadata("source", "tests");
    store
        .append(&a, ExpectedVersion::Any, vec![event.clone()])
        .unwrap();
    let stored = read_stream(&store, &a).remove(0);
    assert_eq!(stored, event.into_envelope(a, 1, 1));
}

/// `visit_encoded` hands out the events of a range, in order, each with the fields and the
/// payload of the stored event, and stops at the end of the range.
pub fn encoded_events_are_the_stored_events<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let b = stream("conformance-b");
    store
        .append(
            &a,
            ExpectedVersion::Any,
            vec![noted(0).with_metadata("user", "clerk-1")],
        )
        .unwrap();
    store.append(&b, ExpectedVersion::Any, batch(1..3)).unwrap();
    store.append(&a, ExpectedVersion::Any, batch(3..5)).unwrap();
    let stored = read_all(&store, 1);
    let mut visited = Vec::new();
    store
        .visit_encoded(2, 4, &mut |encoded| {
            visited.push(encoded.position);
            let envelope = &stored[encoded.position as usize - 1];
            assert_eq!(encoded.event_id, envelope.event_id);
            assert_eq!(encoded.stream_id, envelope.stream_id.as_str());
            assert_eq!(encoded.stream_version, envelope.stream_version);
            assert_eq!(encoded.recorded_at, envelope.recorded_at);
            assert_eq!(
                (encoded.correlation_id, encoded.causation_id),
                (envelope.correlation_id, envelope.causation_id)
            );
            let metadata: Vec<(String, String)> = encoded
                .metadata
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect();
            assert_eq!(
                metadata,
                envelope.metadata.clone().into_iter().collect::<Vec<_>>()
            );
            assert_eq!(encoded.event_type, envelope.event.event_type());
            let decoded = ProbeEvent::from_payload_bytes(encoded.event_type, encoded.payload)
                .expect("the payload decodes");
            assert_eq!(decoded, envelope.event);
            Ok(())
        })
        .unwrap();
    assert_eq!(visited, vec![2, 3, 4]);
    let mut all = 0;
    store
        .visit_encoded(1, u64::MAX, &mut |_| {
            all += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(all, 5, "a range past the head ends at the head");
}

/// `find_event` answers where an id is stored, and `None` for an unknown id.
pub fn find_event_locates_stored_events<S: EventStore<ProbeEvent>>(store: S) {
    let a = stream("conformance-a");
    let b = stream("conformance-b");
    store.append(&a, ExpectedVersion::Any, batch(0..2)).unwrap();
    let events = batch(2..4);
    let second = events[1].event_id;
    store.append(&b, ExpectedVersion::Any, events).unwrap();
    let location = store
        .find_event(second)
        .unwrap()
        .expect("stored id is found");
    assert_eq!(
        (
            location.stream_id,
            location.stream_version,
            location.position
        ),
        (b, 2, 4)
    );
    assert_eq!(store.find_event(EventId::new()).unwrap(), None);
}

const THREADS: usize = 4;
const ATTEMPTS_PER_THREAD: u64 = 200;

/// Threads racing on one stream with exact versions: each append either succeeds or conflicts;
/// nothing is lost or duplicated and versions stay contiguous.
pub fn concurrent_writers_on_one_stream_either_succeed_or_conflict<S: EventStore<ProbeEvent>>(
    store: S,
) {
    let a = stream("conformance-contended");
    let outcomes: Vec<(Vec<u64>, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS as u64)
            .map(|thread| {
                let (store, a) = (&store, &a);
                scope.spawn(move || {
                    let mut written = Vec::new();
                    let mut conflicts = 0;
                    for attempt in 0..ATTEMPTS_PER_THREAD {
                        let seq = (thread * ATTEMPTS_PER_THREAD + attempt) * 2;
                        let version = store.stream_version(a).unwrap();
                        match store.append(a, ExpectedVersion::at(version), batch(seq..seq + 2)) {
                            Ok(result) => {
                                assert_eq!(result.first_version, version + 1);
                                written.extend([seq, seq + 1]);
                            }
                            Err(AppendError::Conflict { .. }) => conflicts += 1,
                            Err(other) => panic!("unexpected error under contention: {other:?}"),
                        }
                    }
                    (written, conflicts)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("writer thread"))
            .collect()
    });
    let written: HashSet<u64> = outcomes
        .iter()
        .flat_map(|(seqs, _)| seqs.iter().copied())
        .collect();
    let attempts: u64 = outcomes
        .iter()
        .map(|(seqs, conflicts)| seqs.len() as u64 / 2 + conflicts)
        .sum();
    assert_eq!(attempts, THREADS as u64 * ATTEMPTS_PER_THREAD);
    let events = read_stream(&store, &a);
    assert_eq!(
        events.len(),
        written.len(),
        "every acknowledged event is stored, once"
    );
    for (version, envelope) in (1u64..).zip(&events) {
        assert_eq!(envelope.stream_version, version);
        assert_eq!(envelope.position, version);
        let ProbeEvent::Noted { seq, .. } = envelope.event else {
            panic!("unexpected event")
        };
        assert!(
            written.contains(&seq),
            "event {seq} was stored but never acknowledged"
        );
        if version % 2 == 0 {
            assert_eq!(seq % 2, 1, "the two events of an append are adjacent");
        }
    }
}

/// Threads appending to their own streams all succeed, and positions stay contiguous.
pub fn concurrent_writers_on_distinct_streams_all_succeed_with_contiguous_positions<
    S: EventStore<ProbeEvent>,
>(
    store: S,
) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS as u64 {
            let store = &store;
            scope.spawn(move || {
                let own = stream(&format!("conformance-writer-{thread}"));
                for attempt in 0..ATTEMPTS_PER_THREAD {
                    let seq = thread * 1_000_000 + attempt;
                    store
                        .append(&own, ExpectedVersion::at(attempt), vec![noted(seq)])
                        .expect("an uncontended append succeeds");
                }
            });
        }
    });
    let total = THREADS as u64 * ATTEMPTS_PER_THREAD;
    assert_eq!(store.head_position().unwrap(), total);
    let positions: Vec<u64> = read_all(&store, 1).iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
    for thread in 0..THREADS as u64 {
        let own = read_stream(&store, &stream(&format!("conformance-writer-{thread}")));
        let seqs: Vec<u64> = own
            .iter()
            .map(|e| match e.event {
                ProbeEvent::Noted { seq, .. } => seq,
                _ => u64::MAX,
            })
            .collect();
        assert_eq!(
            seqs,
            (0..ATTEMPTS_PER_THREAD)
                .map(|a| thread * 1_000_000 + a)
                .collect::<Vec<_>>()
        );
    }
}

/// Readers running beside a writer of 5-event appends always see whole appends.
pub fn concurrent_readers_never_see_part_of_an_append<S: EventStore<ProbeEvent>>(store: S) {
    const BATCH: u64 = 5;
    let a = stream("conformance-atomic");
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (store, a, done) = (&store, &a, &done);
            scope.spawn(move || {
                while !done.load(Ordering::Acquire) {
                    let seen = store.read_all(1).unwrap().count() as u64;
                    assert_eq!(seen % BATCH, 0, "read-all saw part of an append");
                    let seen = store.read_stream(a, 1).unwrap().count() as u64;
                    assert_eq!(seen % BATCH, 0, "read_stream saw part of an append");
                    let version = store.stream_version(a).unwrap();
                    assert_eq!(
                        version % BATCH,
                        0,
                        "stream_version showed part of an append"
                    );
                }
            });
        }
        for seq in (0..100 * BATCH).step_by(BATCH as usize) {
            store
                .append(&a, ExpectedVersion::Any, batch(seq..seq + BATCH))
                .unwrap();
        }
        done.store(true, Ordering::Release);
    });
}
