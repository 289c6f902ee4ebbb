//! Round trips: memory store → JSON → sled store → JSON gives byte-identical files over generated
//! histories of the real domain; incremental exports; stream exports; a customer's data export
//! before and after erasure.

use service_lifecycle::testing::histories as common;
use service_lifecycle::testing::time;

use std::io::Cursor;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use service_lifecycle::json::{
    export_after, export_all, export_stream, import, ImportOptions, ImportProblem, Scope,
};
use service_lifecycle::kernel::{EventStore, MemoryStore, SubjectId, Vault};
use service_lifecycle::sled::{Durability, SledOptions, SledStore};
use service_lifecycle::{export_customer_data, Customer, ServiceEvent, ServiceLifecycle};

fn export(store: &impl EventStore<ServiceEvent>) -> Vec<u8> {
    let mut file = Vec::new();
    export_all(store, &mut file).expect("export");
    file
}

fn sled_store(dir: &std::path::Path) -> SledStore<ServiceEvent> {
    SledStore::open_with(dir, SledOptions::new().durability(Durability::Buffered)).expect("open")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn memory_to_json_to_sled_to_json_is_byte_identical(ops in common::arbitrary_ops(60)) {
        let memory = MemoryStore::<ServiceEvent>::new();
        common::run(memory.clone(), &ops);
        let first = export(&memory);

        let dir = tempfile::tempdir().unwrap();
        let sled = sled_store(dir.path());
        let summary = import(Cursor::new(&first), &sled, ImportOptions::new()).expect("import into sled");
        prop_assert_eq!(summary.events, memory.head_position().unwrap());
        let second = export(&sled);
        prop_assert!(first == second, "the files differ");

        let back = MemoryStore::<ServiceEvent>::new();
        import(Cursor::new(&second), &back, ImportOptions::new()).expect("import into memory");
        prop_assert!(export(&back) == first);
        prop_assert!(sled.verify().unwrap().is_clean());
    }
}

#[test]
fn a_full_export_and_an_incremental_one_restore_a_store() {
    let ops = common::arbitrary_ops(80)
        .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
        .unwrap()
        .current();
    let source = MemoryStore::<ServiceEvent>::new();
    let service = common::run(source.clone(), &ops[..ops.len() / 2]);
    let mut full = Vec::new();
    export_all(&source, &mut full).unwrap();
    let middle = source.head_position().unwrap();
    drop(service);
    common::run(source.clone(), &ops[ops.len() / 2..]);
    let mut incremental = Vec::new();
    let summary = export_after(&source, middle, &mut incremental).unwrap();
    assert_eq!(summary.header.scope, Scope::After { position: middle });

    let target = MemoryStore::<ServiceEvent>::new();
    // The incremental file does not continue an empty store.
    let refused = import(Cursor::new(&incremental), &target, ImportOptions::new()).unwrap_err();
    assert!(
        matches!(refused.problem, ImportProblem::DoesNotContinue { .. }),
        "{refused}"
    );
    import(Cursor::new(&full), &target, ImportOptions::new()).unwrap();
    import(Cursor::new(&incremental), &target, ImportOptions::new()).unwrap();
    assert_eq!(export(&target), export(&source));
}

#[test]
fn a_stream_export_holds_the_stream_and_cannot_be_imported() {
    let memory = MemoryStore::<ServiceEvent>::new();
    common::run(
        memory.clone(),
        &[
            common::Op::Register {
                customer: 1,
                level: 2,
            },
            common::Op::Inquiry { customer: 1 },
            common::Op::Receive { unit: 1 },
            common::Op::Inquiry { customer: 1 },
        ],
    );
    let stream = Customer::stream_id(common::customer_id(1)).unwrap();
    let mut file = Vec::new();
    let summary = export_stream(&memory, &stream, &mut file).unwrap();
    assert_eq!(
        summary.header.events,
        memory.stream_version(&stream).unwrap()
    );
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text
        .lines()
        .skip(1)
        .take(summary.header.events as usize)
        .all(|line| line.contains(stream.as_str())));
    let target = MemoryStore::<ServiceEvent>::new();
    let refused = import(Cursor::new(&file), &target, ImportOptions::new()).unwrap_err();
    assert!(
        matches!(refused.problem, ImportProblem::StreamScope),
        "{refused}"
    );
    assert_eq!(target.head_position().unwrap(), 0);
}

#[test]
fn a_customers_data_export_holds_their_events_and_data_until_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let store = sled_store(dir.path());
    let ops = [
        common::Op::Register {
            customer: 1,
            level: 2,
        },
        common::Op::Register {
            customer: 2,
            level: 1,
        },
        common::Op::Receive { unit: 1 },
        common::Op::Commission { unit: 1 },
        common::Op::TestRun {
            unit: 1,
            passed: true,
        },
        common::Op::Sell {
            unit: 1,
            customer: 1,
        },
        common::Op::Inquiry { customer: 1 },
        common::Op::Inquiry { customer: 2 },
    ];
    common::run(store.clone(), &ops);
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()
        .unwrap();
    // The facade kept personal data in memory while the history was written; keep it in sled.
    for number in [1, 2] {
        let subject = SubjectId::from_uuid(common::customer_id(number).as_uuid());
        let record = serde_json::to_vec(&common::personal(number)).unwrap();
        store.put(subject, record).unwrap();
    }

    let mut document = Vec::new();
    export_customer_data(&store, &store, common::customer_id(1), &mut document).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&document).unwrap();
    assert_eq!(value["personal_data"]["name"], "Customer Number 1");
    let streams: Vec<&str> = value["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stream| stream["stream_id"].as_str().unwrap())
        .collect();
    assert!(streams[0].starts_with("customer-"));
    assert!(
        streams.iter().any(|stream| stream.starts_with("product-")),
        "the unit sold: {streams:?}"
    );
    assert!(
        streams.iter().any(|stream| stream.starts_with("contract-")),
        "its warranty contract: {streams:?}"
    );
    let text = String::from_utf8(document).unwrap();
    // Each stream's events are the export's own event lines, byte for byte.
    for stream in &streams {
        let mut exported = Vec::new();
        let stream_id = service_lifecycle::kernel::StreamId::new(*stream).unwrap();
        export_stream(&store, &stream_id, &mut exported).unwrap();
        let exported = String::from_utf8(exported).unwrap();
        let lines: Vec<&str> = exported.lines().collect();
        let events = lines[1..lines.len() - 1].join(",");
        let embedded = format!("{{\"stream_id\":\"{stream}\",\"events\":[{events}]}}");
        assert!(text.contains(&embedded), "{stream} as exported");
    }
    assert!(!text.contains("Customer Number 2"), "nobody else's data");
    assert!(
        !text.contains(&common::customer_id(2).as_uuid().to_string()),
        "nobody else's events"
    );

    service
        .erase_customer(
            common::customer_id(1),
            time::hour(100),
            &service_lifecycle::kernel::CommandContext::new(),
        )
        .unwrap();
    let mut erased = Vec::new();
    export_customer_data(&store, &store, common::customer_id(1), &mut erased).unwrap();
    let erased = String::from_utf8(erased).unwrap();
    let value: serde_json::Value = serde_json::from_str(&erased).unwrap();
    assert!(value["personal_data"].is_null());
    let personal = common::personal(1);
    assert!(!erased.contains(&personal.name) && !erased.contains(&personal.contact));
    assert!(
        erased.contains("customer.personal_data_erased"),
        "the erasure itself is recorded"
    );
}

/// A disk that is full from the first byte.
struct FullDisk;

impl std::io::Write for FullDisk {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::StorageFull.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_export_into_a_failing_writer_reports_the_writers_error_as_it_was() {
    use service_lifecycle::kernel::testing::fixture::{fixture_time, ProbeEvent};
    use service_lifecycle::kernel::{ExpectedVersion, NewEvent, StreamId};
    // More than the export's 64 KiB buffer, so the write fails while events are being visited.
    let store = MemoryStore::<ProbeEvent>::new();
    let stream = StreamId::new("probe-1").unwrap();
    for seq in 0..100 {
        let note = "x".repeat(1_000);
        let event = NewEvent::new(ProbeEvent::Noted { seq, note }, fixture_time());
        store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .unwrap();
    }
    let error = export_all(&store, FullDisk).unwrap_err();
    match &error {
        service_lifecycle::json::ExportError::Write(io) => {
            assert_eq!(io.kind(), std::io::ErrorKind::StorageFull, "{error}")
        }
        other => panic!("expected a write error, got {other}"),
    }
    assert_eq!(
        error
            .to_string()
            .matches("writing the export failed")
            .count(),
        1,
        "{error}"
    );
}

#[test]
fn an_event_the_target_cannot_take_refuses_the_import_before_anything_is_written() {
    use service_lifecycle::kernel::testing::fixture::{fixture_time, ProbeEvent};
    use service_lifecycle::kernel::{ExpectedVersion, NewEvent, StreamId};
    let source = MemoryStore::<ProbeEvent>::new();
    let stream = StreamId::new("probe-1").unwrap();
    for seq in 0..30 {
        // The 28th event is larger than the target accepts; the ones before it are small.
        let note = if seq == 27 {
            "x".repeat(2_000)
        } else {
            String::new()
        };
        let event = NewEvent::new(ProbeEvent::Noted { seq, note }, fixture_time());
        source
            .append(&stream, ExpectedVersion::Any, vec![event])
            .unwrap();
    }
    let mut file = Vec::new();
    export_all(&source, &mut file).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = SledStore::<ProbeEvent>::open_with(
        dir.path(),
        SledOptions::new()
            .durability(Durability::Buffered)
            .max_event_size(1_000),
    )
    .unwrap();
    let error = import(Cursor::new(&file), &target, ImportOptions::new()).unwrap_err();
    assert_eq!(
        error.line, 29,
        "the header is line 1, so the 28th event is line 29: {error}"
    );
    assert!(
        matches!(error.problem, ImportProblem::Refused(_)),
        "{error}"
    );
    assert!(!error.target_written, "{error}");
    assert_eq!(
        target.head_position().unwrap(),
        0,
        "nothing of the file was written"
    );
}
