//! Hostile and broken input to the importer (docs/testing.md §2.7): each gives an error naming the line
//! and the problem, never a panic, and leaves the target store untouched. Property tests feed
//! arbitrary bytes and arbitrary mutations of valid files.

use std::io::Cursor;

use proptest::prelude::*;
use service_lifecycle_json::{export_all, import, ImportError, ImportOptions, ImportProblem};
use service_lifecycle_kernel::testing::fixture::{fixture_time, ProbeEvent};
use service_lifecycle_kernel::{EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamId};

/// A valid export of six events over two streams, as lines (without newlines).
fn valid_lines() -> Vec<String> {
    let store = MemoryStore::<ProbeEvent>::new();
    let at = fixture_time();
    for (stream, seqs) in [("probe-a", 1..3), ("probe-b", 3..5), ("probe-a", 5..7)] {
        let events = seqs
            .map(|seq| NewEvent::new(ProbeEvent::noted(seq), at))
            .collect();
        store
            .append(
                &StreamId::new(stream).unwrap(),
                ExpectedVersion::Any,
                events,
            )
            .unwrap();
    }
    let mut file = Vec::new();
    export_all(&store, &mut file).unwrap();
    String::from_utf8(file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The lines with the trailer's CRC-32 made right again for the event lines as they are now:
/// a file written wrong by a program, not damaged on the way.
fn resealed(mut lines: Vec<String>) -> Vec<String> {
    let trailer = lines.len() - 1;
    let mut crc = crc32fast::Hasher::new();
    for line in &lines[1..trailer] {
        crc.update(line.as_bytes());
        crc.update(b"\n");
    }
    let events = trailer - 1;
    lines[trailer] = format!(
        r#"{{"trailer":{{"events":{events},"crc32":"{:08x}"}}}}"#,
        crc.finalize()
    );
    lines
}

/// The event id an event line holds.
fn id_of(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line).unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut file = lines.join("\n").into_bytes();
    file.push(b'\n');
    file
}

/// Imports `file` into a fresh store; returns the error and checks the store stayed empty.
fn refused(file: &[u8]) -> ImportError {
    refused_with(file, ImportOptions::new())
}

fn refused_with(file: &[u8], options: ImportOptions) -> ImportError {
    let target = MemoryStore::<ProbeEvent>::new();
    let error = import(Cursor::new(file), &target, options).expect_err("the file is refused");
    assert_eq!(
        target.head_position().unwrap(),
        0,
        "{error}: the target was written"
    );
    assert!(!error.target_written, "{error}");
    error
}

#[test]
fn a_valid_file_imports() {
    let target = MemoryStore::<ProbeEvent>::new();
    let summary = import(
        Cursor::new(join(&valid_lines())),
        &target,
        ImportOptions::new(),
    )
    .unwrap();
    assert_eq!((summary.events, summary.appends), (6, 3));
}

#[test]
fn an_empty_file_has_no_header() {
    let error = refused(b"");
    assert!(matches!(error.problem, ImportProblem::Empty), "{error}");
}

#[test]
fn malformed_json_is_refused_naming_its_line() {
    let mut lines = valid_lines();
    lines[3] = lines[3].replace("\"stream_version\":", "\"stream_version\"");
    let error = refused(&join(&lines));
    assert_eq!(error.line, 4, "{error}");
    assert!(
        matches!(error.problem, ImportProblem::Malformed { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("line 4: the event line is malformed"),
        "{error}"
    );
}

#[test]
fn every_truncation_of_a_file_is_refused() {
    let file = join(&valid_lines());
    // Cutting only the last newline leaves every line whole: that file is valid.
    for len in 0..file.len() - 1 {
        let error = refused(&file[..len]);
        assert!(error.line >= 1 || len == 0, "{len}: {error}");
    }
}

#[test]
fn a_missing_trailer_is_refused_as_truncated() {
    let mut lines = valid_lines();
    lines.pop();
    let error = refused(&join(&lines));
    assert!(
        matches!(error.problem, ImportProblem::Truncated { .. }),
        "{error}"
    );
    assert_eq!(error.line, 7);
}

#[test]
fn a_wrong_trailer_is_refused() {
    let mut lines = valid_lines();
    let trailer = lines.len() - 1;
    lines[trailer] = r#"{"trailer":{"events":6,"crc32":"00000000"}}"#.into();
    let error = refused(&join(&lines));
    assert!(
        matches!(error.problem, ImportProblem::TrailerMismatch { .. }),
        "{error}"
    );
    assert_eq!(error.line, 8);
}

#[test]
fn lines_out_of_order_are_refused() {
    let mut lines = valid_lines();
    lines.swap(2, 3);
    let error = refused(&join(&lines));
    assert_eq!(error.line, 3, "{error}");
    assert!(
        matches!(
            error.problem,
            ImportProblem::PositionOutOfOrder {
                expected: 2,
                found: 3
            }
        ),
        "{error}"
    );
}

#[test]
fn a_duplicated_line_is_refused() {
    let mut lines = valid_lines();
    let copy = lines[2].clone();
    lines.insert(3, copy);
    let error = refused(&join(&lines));
    assert_eq!(error.line, 4, "{error}");
    assert!(
        matches!(
            error.problem,
            ImportProblem::PositionOutOfOrder {
                expected: 3,
                found: 2
            }
        ),
        "{error}"
    );
}

#[test]
fn a_duplicated_event_id_is_refused() {
    let mut lines = valid_lines();
    let (first, second) = (id_of(&lines[1]), id_of(&lines[2]));
    lines[2] = lines[2].replace(&second, &first);
    // Found by the target's own index, not by a set of every id the file holds.
    let error = refused(&join(&resealed(lines)));
    assert_eq!(error.line, 3, "{error}");
    assert!(
        matches!(error.problem, ImportProblem::DuplicateEventId(_)),
        "{error}"
    );
}

#[test]
fn an_unknown_event_type_is_refused() {
    let mut lines = valid_lines();
    lines[5] = lines[5].replace("\"probe.noted\"", "\"probe.forgotten\"");
    let error = refused(&join(&lines));
    assert_eq!(error.line, 6, "{error}");
    assert!(matches!(error.problem, ImportProblem::Decode(_)), "{error}");
    assert!(error.to_string().contains("probe.forgotten"), "{error}");
}

#[test]
fn a_newer_schema_version_is_refused() {
    let mut lines = valid_lines();
    lines[1] = lines[1].replace("\"schema_version\":1", "\"schema_version\":9");
    let error = refused(&join(&lines));
    assert!(
        error.to_string().contains("newer than this code's"),
        "{error}"
    );
}

#[test]
fn another_format_version_is_refused() {
    let mut lines = valid_lines();
    lines[0] = lines[0].replace("\"format_version\":1", "\"format_version\":2");
    let error = refused(&join(&lines));
    assert_eq!(error.line, 1);
    assert!(
        matches!(error.problem, ImportProblem::WrongFormat { version: 2, .. }),
        "{error}"
    );
}

#[test]
fn an_unknown_or_missing_field_is_refused() {
    let mut lines = valid_lines();
    lines[1] = lines[1].replacen('{', r#"{"extra":1,"#, 1);
    assert!(matches!(
        refused(&join(&lines)).problem,
        ImportProblem::Malformed { .. }
    ));
    let mut lines = valid_lines();
    lines[1] = lines[1].replace(r#""metadata":{},"#, "");
    assert!(matches!(
        refused(&join(&lines)).problem,
        ImportProblem::Malformed { .. }
    ));
}

#[test]
fn a_huge_line_is_refused_without_reading_it_whole() {
    let mut lines = valid_lines();
    lines[2] = format!("{}{}", lines[2], " ".repeat(5_000));
    let error = refused_with(&join(&lines), ImportOptions::new().max_line(4_096));
    assert_eq!(error.line, 3);
    assert!(
        matches!(error.problem, ImportProblem::LineTooLong { limit: 4_096 }),
        "{error}"
    );
    // A line of 100 MiB without a newline: refused after reading the limit, not the line.
    let endless = std::io::repeat(b'x').take(100 << 20);
    let target = MemoryStore::<ProbeEvent>::new();
    let mut reader = std::io::BufReader::new(endless);
    let error = import_unseekable(&mut reader, &target);
    assert!(
        matches!(error.problem, ImportProblem::LineTooLong { .. }),
        "{error}"
    );
}

/// Reads a non-seekable source through a seekable wrapper that fails to seek.
fn import_unseekable(
    reader: &mut impl std::io::BufRead,
    target: &MemoryStore<ProbeEvent>,
) -> ImportError {
    struct NoSeek<'a, R>(&'a mut R);
    impl<R: std::io::BufRead> std::io::Read for NoSeek<'_, R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl<R: std::io::BufRead> std::io::BufRead for NoSeek<'_, R> {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            self.0.fill_buf()
        }
        fn consume(&mut self, amount: usize) {
            self.0.consume(amount)
        }
    }
    impl<R> std::io::Seek for NoSeek<'_, R> {
        fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
            Ok(0)
        }
    }
    import(NoSeek(reader), target, ImportOptions::new()).expect_err("refused")
}

use std::io::Read as _;

#[test]
fn deeply_nested_values_are_refused_without_overflowing_the_stack() {
    let mut lines = valid_lines();
    let nested = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    lines[1] = lines[1].replacen(r#""metadata":{}"#, &format!(r#""metadata":{nested}"#), 1);
    let error = refused_with(&join(&lines), ImportOptions::new().max_line(1 << 20));
    assert_eq!(error.line, 2);
    assert!(
        matches!(error.problem, ImportProblem::Malformed { .. }),
        "{error}"
    );
}

#[test]
fn invalid_utf8_is_refused_naming_the_line() {
    let lines = valid_lines();
    let mut file = join(&lines[..2]);
    let at = file.len() - 20;
    file[at] = 0xff;
    file.extend(join(&lines[2..]));
    let error = refused(&file);
    assert_eq!(error.line, 2);
    assert!(
        matches!(error.problem, ImportProblem::NotUtf8 { .. }),
        "{error}"
    );
}

#[test]
fn something_after_the_trailer_is_refused() {
    let mut lines = valid_lines();
    lines.push(lines[1].clone());
    let error = refused(&join(&lines));
    assert!(
        matches!(error.problem, ImportProblem::AfterTrailer),
        "{error}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic the importer and never write.
    #[test]
    fn arbitrary_bytes_are_refused_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        let target = MemoryStore::<ProbeEvent>::new();
        if import(Cursor::new(&bytes), &target, ImportOptions::new()).is_err() {
            prop_assert_eq!(target.head_position().unwrap(), 0);
        }
    }

    /// A mutated valid file either imports exactly what it says (the mutation kept it valid) or
    /// is refused with nothing written.
    #[test]
    fn mutated_files_import_whole_or_not_at_all(
        mutation in 0u8..4,
        at in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let lines = valid_lines();
        let file = join(&lines);
        let mutated = match mutation {
            0 => { let mut file = file.clone(); let i = at.index(file.len()); file[i] = byte; file }
            1 => { let mut file = file.clone(); let i = at.index(file.len()); file.remove(i); file }
            2 => { let mut lines = lines.clone(); let (i, j) = (at.index(lines.len()), other.index(lines.len())); lines.swap(i, j); join(&lines) }
            _ => { let mut lines = lines.clone(); let (i, j) = (at.index(lines.len()), other.index(lines.len())); let copy = lines[i].clone(); lines.insert(j, copy); join(&lines) }
        };
        let target = MemoryStore::<ProbeEvent>::new();
        match import(Cursor::new(&mutated), &target, ImportOptions::new()) {
            Ok(summary) => prop_assert_eq!(target.head_position().unwrap(), summary.events),
            Err(error) => {
                prop_assert_eq!(target.head_position().unwrap(), 0, "{}", error);
                prop_assert!(error.line >= 1 || matches!(error.problem, ImportProblem::Empty));
            }
        }
    }
}

/// `lines` with the first event line (line 2) changed by `change`.
fn with_first_event(change: impl Fn(&str) -> String) -> Vec<u8> {
    let mut lines = valid_lines();
    lines[1] = change(&lines[1]);
    join(&lines)
}

#[test]
fn a_payload_field_the_event_does_not_have_is_refused_naming_it() {
    let file = with_first_event(|line| line.replacen(r#""data":{"#, r#""data":{"zzz":1,"#, 1));
    let error = refused(&file);
    assert_eq!(error.line, 2, "{error}");
    match &error.problem {
        ImportProblem::NotCanonical { difference } => {
            assert!(difference.contains("data.zzz"), "{difference}")
        }
        other => panic!("expected NotCanonical, got {other}"),
    }
}

#[test]
fn values_written_otherwise_than_an_export_writes_them_are_refused_naming_the_field() {
    let event_id = |line: &str| {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["event_id"].as_str().unwrap().to_owned()
    };
    let upper_case_id =
        with_first_event(|line| line.replacen(&event_id(line), &event_id(line).to_uppercase(), 1));
    let offset_time = with_first_event(|line| {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let time = value["recorded_at"].as_str().unwrap().to_owned();
        let other = time.replace('Z', "+00:00");
        assert_ne!(time, other, "the export writes UTC as Z");
        line.replacen(&time, &other, 1)
    });
    let spaced = with_first_event(|line| line.replacen(r#""position":"#, r#""position": "#, 1));
    for (file, field) in [
        (upper_case_id, "event_id"),
        (offset_time, "recorded_at"),
        (spaced, "spaced or ordered"),
    ] {
        let error = refused(&file);
        assert_eq!(error.line, 2, "{error}");
        assert!(
            matches!(&error.problem, ImportProblem::NotCanonical { difference } if difference.contains(field)),
            "{field}: {error}"
        );
    }
}

/// A file that another program rewrites while it is imported: the second pass reads `second`.
struct RewrittenWhileRead {
    reading: std::io::Cursor<Vec<u8>>,
    second: Option<Vec<u8>>,
}

impl std::io::Read for RewrittenWhileRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reading.read(buf)
    }
}

impl std::io::BufRead for RewrittenWhileRead {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.reading.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        self.reading.consume(amount)
    }
}

impl std::io::Seek for RewrittenWhileRead {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        if to == std::io::SeekFrom::Start(0) && self.reading.position() > 0 {
            if let Some(second) = self.second.take() {
                self.reading = std::io::Cursor::new(second);
            }
        }
        self.reading.seek(to)
    }
}

#[test]
fn a_file_changed_between_the_passes_is_refused_and_nothing_of_it_is_written() {
    let lines = valid_lines();
    let mut changed = lines.clone();
    // Line 5 is the fourth event: its number changes, as an editor saving the file would.
    changed[4] = changed[4].replacen(r#""seq":4"#, r#""seq":7"#, 1);
    assert_ne!(changed[4], lines[4], "the edit changed the line");
    let file = RewrittenWhileRead {
        reading: std::io::Cursor::new(join(&lines)),
        second: Some(join(&changed)),
    };
    let target = MemoryStore::<ProbeEvent>::new();
    let error = import(file, &target, ImportOptions::new()).unwrap_err();
    // Lines are compared in chunks of 4,096: the error names the first line of the chunk.
    assert_eq!(error.line, 2, "{error}");
    assert!(
        matches!(error.problem, ImportProblem::ChangedDuringImport),
        "{error}"
    );
    assert!(!error.target_written, "{error}");
    assert_eq!(
        target.head_position().unwrap(),
        0,
        "not even the verified lines before the change"
    );
}

#[test]
fn a_byte_order_mark_or_windows_line_endings_are_named_as_such() {
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(join(&valid_lines()));
    let error = refused(&with_bom);
    assert_eq!(error.line, 1, "{error}");
    assert!(
        matches!(error.problem, ImportProblem::ByteOrderMark),
        "{error}"
    );

    let crlf = join(&valid_lines())
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .flat_map(|line| [line, b"\r\n"].concat())
        .collect::<Vec<u8>>();
    let error = refused(&crlf);
    assert_eq!(error.line, 1, "{error}");
    assert!(
        matches!(error.problem, ImportProblem::CarriageReturn),
        "{error}"
    );
    assert!(error.to_string().contains("CRLF"), "{error}");
}

#[test]
fn an_event_id_repeated_in_a_later_run_is_refused_at_its_line_by_the_target_index() {
    // Lines 2-3 are probe-a's first run, 4-5 probe-b's: the repeat is in another run, found
    // when that run is appended (the target's index holds the first), and the import undone.
    let mut lines = valid_lines();
    let (first, later) = (id_of(&lines[1]), id_of(&lines[4]));
    lines[4] = lines[4].replace(&later, &first);
    let error = refused(&join(&resealed(lines)));
    assert_eq!(error.line, 5, "{error}");
    assert!(
        matches!(error.problem, ImportProblem::DuplicateEventId(_)),
        "{error}"
    );
    assert!(!error.target_written, "{error}");
}

#[test]
fn a_version_gap_between_runs_of_a_stream_is_refused_at_its_line() {
    // probe-a's second run (lines 6-7) says versions 4 and 5 after the first run's 1 and 2.
    let mut lines = valid_lines();
    for line in [5, 6] {
        let value: serde_json::Value = serde_json::from_str(&lines[line]).unwrap();
        let version = value["stream_version"].as_u64().unwrap();
        lines[line] = lines[line].replace(
            &format!("\"stream_version\":{version}"),
            &format!("\"stream_version\":{}", version + 1),
        );
    }
    let error = refused(&join(&resealed(lines)));
    assert_eq!(error.line, 6, "{error}");
    assert!(
        matches!(
            &error.problem,
            ImportProblem::VersionOutOfOrder {
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{error}"
    );
}
