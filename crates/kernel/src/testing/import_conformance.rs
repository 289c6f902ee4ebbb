//! The conformance suite of [`AtomicImport`]: what every store that takes imports must do, the
//! same way for every store.
//!
//! ```
//! use service_lifecycle_kernel::testing::import_conformance;
//! use service_lifecycle_kernel::MemoryStore;
//!
//! import_conformance::run_all(MemoryStore::new);
//! ```
//!
//! What a crash in the middle of an import leaves cannot be checked in one process: a store that
//! keeps its data on disk proves that in its own crash test (the sled store kills importing
//! processes and reopens what they left).

use super::fixture::{noted, stream, ProbeEvent};
use crate::{
    AppendError, AtomicImport, AtomicImportError, Envelope, EventStore, ExpectedVersion, NewEvent,
    StreamId,
};

/// Runs every check of the suite, each on a fresh store from `make_store`.
pub fn run_all<S: AtomicImport<ProbeEvent>>(make_store: impl Fn() -> S) {
    a_committed_import_holds_every_run_after_what_was_there(make_store());
    a_failed_feed_leaves_the_store_as_it_was_and_can_be_imported_again(make_store());
    a_run_is_checked_like_an_append_and_a_refused_run_fails_the_whole_import(make_store());
    an_event_id_already_stored_or_already_imported_is_refused(make_store());
    other_appends_and_imports_are_refused_while_an_import_runs(make_store());
    read_all_does_not_see_an_import_before_it_commits(make_store());
}

/// Every event of the store in commit order, with its place.
fn everything<S: EventStore<ProbeEvent>>(store: &S) -> Vec<Envelope<ProbeEvent>> {
    store
        .read_all(1)
        .expect("read_all")
        .map(|stored| stored.expect("stored event").into_owned())
        .collect()
}

/// A store holding `existing-a` (2 events) and `existing-b` (1 event).
fn seeded<S: EventStore<ProbeEvent>>(store: &S) -> (StreamId, StreamId) {
    let (a, b) = (stream("existing-a"), stream("existing-b"));
    store
        .append(&a, ExpectedVersion::NoStream, vec![noted(1), noted(2)])
        .expect("seed a");
    store
        .append(&b, ExpectedVersion::NoStream, vec![noted(3)])
        .expect("seed b");
    (a, b)
}

/// The runs of the checks' import: a new stream, the continuation of `a`, the new stream again.
fn import_runs(a: &StreamId) -> Vec<(StreamId, ExpectedVersion, Vec<NewEvent<ProbeEvent>>)> {
    let fresh = stream("imported-c");
    vec![
        (
            fresh.clone(),
            ExpectedVersion::NoStream,
            vec![noted(10), noted(11)],
        ),
        (a.clone(), ExpectedVersion::Exact(2), vec![noted(12)]),
        (
            fresh,
            ExpectedVersion::Exact(2),
            vec![noted(13), noted(14), noted(15)],
        ),
    ]
}

fn feed_all(
    sink: &mut dyn crate::ImportSink<ProbeEvent>,
    runs: Vec<(StreamId, ExpectedVersion, Vec<NewEvent<ProbeEvent>>)>,
) -> Result<(), AppendError> {
    for (stream, expected, events) in runs {
        sink.append_run(&stream, expected, events)?;
    }
    Ok(())
}

/// A committed import holds every run, at the positions after the store's head, each stream
/// continuing its versions; the store's own events are untouched.
pub fn a_committed_import_holds_every_run_after_what_was_there<S: AtomicImport<ProbeEvent>>(
    store: S,
) {
    let (a, b) = seeded(&store);
    let before = everything(&store);
    store
        .import_atomically(|sink| feed_all(sink, import_runs(&a)))
        .expect("the import commits");
    let after = everything(&store);
    assert_eq!(after.len(), 9, "3 events before, 6 imported");
    assert_eq!(&after[..3], &before[..], "the events before are untouched");
    let positions: Vec<u64> = after.iter().map(|event| event.position).collect();
    assert_eq!(
        positions,
        (1..=9).collect::<Vec<_>>(),
        "positions stay contiguous"
    );
    assert_eq!(store.head_position().unwrap(), 9);
    assert_eq!(store.stream_version(&a).unwrap(), 3);
    assert_eq!(store.stream_version(&b).unwrap(), 1);
    assert_eq!(store.stream_version(&stream("imported-c")).unwrap(), 5);
    let seqs: Vec<u64> = after[3..]
        .iter()
        .map(|event| match event.event {
            ProbeEvent::Noted { seq, .. } => seq,
            ref other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(
        seqs,
        vec![10, 11, 12, 13, 14, 15],
        "in the order of the runs"
    );
}

/// When the feed fails after some runs, nothing of the import is in the store (events, stream
/// versions, event ids), the store's own events are untouched, and the same runs import again.
pub fn a_failed_feed_leaves_the_store_as_it_was_and_can_be_imported_again<
    S: AtomicImport<ProbeEvent>,
>(
    store: S,
) {
    let (a, _) = seeded(&store);
    let before = everything(&store);
    let runs = import_runs(&a);
    let ids: Vec<_> = runs
        .iter()
        .flat_map(|(_, _, events)| events.iter().map(|event| event.event_id))
        .collect();
    let outcome = store.import_atomically(|sink| {
        feed_all(sink, runs.clone()).map_err(|error| error.to_string())?;
        Err::<(), String>("a bad line after the runs".into())
    });
    match outcome {
        Err(AtomicImportError::Feed(reason)) => assert_eq!(reason, "a bad line after the runs"),
        other => panic!("the feed's error comes back: {other:?}"),
    }
    assert_eq!(everything(&store), before, "the store is as it was");
    assert_eq!(store.head_position().unwrap(), 3);
    assert_eq!(store.stream_version(&a).unwrap(), 2);
    assert_eq!(store.stream_version(&stream("imported-c")).unwrap(), 0);
    for id in &ids {
        assert_eq!(
            store.find_event(*id).unwrap(),
            None,
            "event id {id} is not stored"
        );
    }
    store
        .import_atomically(|sink| feed_all(sink, runs))
        .expect("the same runs import again");
    assert_eq!(store.head_position().unwrap(), 9);
}

/// A run at a wrong expected version is refused as an append would be, and the feed that passes
/// the refusal on fails the whole import: the runs before it are undone.
pub fn a_run_is_checked_like_an_append_and_a_refused_run_fails_the_whole_import<
    S: AtomicImport<ProbeEvent>,
>(
    store: S,
) {
    let (a, _) = seeded(&store);
    let before = everything(&store);
    let outcome = store.import_atomically(|sink| {
        sink.append_run(
            &stream("imported-c"),
            ExpectedVersion::NoStream,
            vec![noted(10)],
        )?;
        sink.append_run(&a, ExpectedVersion::Exact(1), vec![noted(11)])
    });
    match outcome {
        Err(AtomicImportError::Feed(AppendError::Conflict { actual, .. })) => {
            assert_eq!(actual, 2)
        }
        other => panic!("a stale expected version is a conflict: {other:?}"),
    }
    let empty = store.import_atomically(|sink| sink.append_run(&a, ExpectedVersion::Any, vec![]));
    assert!(
        matches!(
            empty,
            Err(AtomicImportError::Feed(AppendError::Empty { .. }))
        ),
        "{empty:?}"
    );
    assert_eq!(everything(&store), before, "the store is as it was");
}

/// An import never repeats what the store holds: an event id already stored, or given twice in
/// one import, is refused.
pub fn an_event_id_already_stored_or_already_imported_is_refused<S: AtomicImport<ProbeEvent>>(
    store: S,
) {
    let (a, _) = seeded(&store);
    let stored = everything(&store)[0].clone();
    let again = NewEvent {
        event_id: stored.event_id,
        ..noted(1)
    };
    let outcome =
        store.import_atomically(|sink| sink.append_run(&a, ExpectedVersion::Exact(2), vec![again]));
    assert!(
        matches!(
            outcome,
            Err(AtomicImportError::Feed(
                AppendError::DuplicateEventId { .. }
            ))
        ),
        "an id already stored: {outcome:?}"
    );
    let twice = noted(20);
    let copy = twice.clone();
    let outcome = store.import_atomically(|sink| {
        sink.append_run(
            &stream("imported-c"),
            ExpectedVersion::NoStream,
            vec![twice],
        )?;
        sink.append_run(&stream("imported-d"), ExpectedVersion::NoStream, vec![copy])
    });
    assert!(
        matches!(
            outcome,
            Err(AtomicImportError::Feed(
                AppendError::DuplicateEventId { .. }
            ))
        ),
        "an id given twice: {outcome:?}"
    );
    assert_eq!(store.head_position().unwrap(), 3);
}

/// While an import runs, an append is refused with [`AppendError::ImportInProgress`] and a
/// second import with [`AtomicImportError::InProgress`], writing nothing; both work once the
/// import ends, whether it committed or failed.
pub fn other_appends_and_imports_are_refused_while_an_import_runs<S: AtomicImport<ProbeEvent>>(
    store: S,
) {
    let (a, b) = seeded(&store);
    let outcome = store.import_atomically(|sink| {
        feed_all(sink, import_runs(&a))?;
        let refused = store
            .append(&b, ExpectedVersion::Exact(1), vec![noted(30)])
            .expect_err("an append during an import is refused");
        assert!(
            matches!(refused, AppendError::ImportInProgress { .. }),
            "{refused:?}"
        );
        let nested = store.import_atomically(|_| Ok::<(), AppendError>(()));
        assert!(
            matches!(nested, Err(AtomicImportError::InProgress)),
            "{nested:?}"
        );
        Ok::<(), AppendError>(())
    });
    outcome.expect("the import commits");
    assert_eq!(
        store.stream_version(&b).unwrap(),
        1,
        "the refused append wrote nothing"
    );
    store
        .append(&b, ExpectedVersion::Exact(1), vec![noted(31)])
        .expect("appends work again after a committed import");
    let failed = store.import_atomically(|_| Err::<(), _>("stop"));
    assert!(matches!(failed, Err(AtomicImportError::Feed("stop"))));
    store
        .append(&b, ExpectedVersion::Exact(2), vec![noted(32)])
        .expect("appends work again after a failed import");
}

/// Until the import commits, read-all and the head show the store as it was before it.
pub fn read_all_does_not_see_an_import_before_it_commits<S: AtomicImport<ProbeEvent>>(store: S) {
    let (a, _) = seeded(&store);
    let before = everything(&store);
    store
        .import_atomically(|sink| {
            feed_all(sink, import_runs(&a))?;
            assert_eq!(store.head_position().unwrap(), 3, "the head has not moved");
            assert_eq!(
                everything(&store),
                before,
                "read-all sees the store as it was"
            );
            Ok::<(), AppendError>(())
        })
        .expect("the import commits");
    assert_eq!(store.head_position().unwrap(), 9);
}
