//! An incremental export asked for positions the store does not have is refused before anything
//! is written, instead of overflowing into a file without a trailer.

use service_lifecycle_json::{export_after, ExportError};
use service_lifecycle_kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle_kernel::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};

fn store_of(events: u64) -> MemoryStore<ProbeEvent> {
    let store = MemoryStore::new();
    let stream = StreamId::new("probe-1").unwrap();
    for seq in 0..events {
        let event = NewEvent::new(ProbeEvent::noted(seq), fixture_time());
        store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .unwrap();
    }
    store
}

#[test]
fn an_export_after_the_head_is_refused_and_writes_nothing() {
    let store = store_of(3);
    for after in [4, u64::MAX] {
        let mut out = Vec::new();
        let error = export_after(&store, after, &mut out).unwrap_err();
        assert!(
            matches!(error, ExportError::AfterHead { after: a, head: 3 } if a == after),
            "{error}"
        );
        assert!(out.is_empty(), "nothing is written");
        assert!(
            error.to_string().contains("newest event is at position 3"),
            "{error}"
        );
    }
}

#[test]
fn an_export_after_exactly_the_head_is_empty_and_complete() {
    let store = store_of(3);
    let mut out = Vec::new();
    let summary = export_after(&store, 3, &mut out).unwrap();
    assert_eq!(summary.header.events, 0);
    assert_eq!(
        String::from_utf8(out).unwrap().lines().count(),
        2,
        "header and trailer"
    );
}
