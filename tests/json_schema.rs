//! Every line of an export of generated domain histories validates against the JSON Schemas in
//! docs/schemas/ (header, event, trailer), checked by a JSON Schema validator.

use service_lifecycle::testing::histories as common;

use proptest::prelude::*;
use service_lifecycle::json::{export_after, export_all, export_stream};
use service_lifecycle::kernel::{EventStore, MemoryStore, StreamId};
use service_lifecycle::ServiceEvent;

fn validator(name: &str) -> jsonschema::Validator {
    let path = format!("{}/docs/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|error| panic!("{path} is not a valid schema: {error}"))
}

struct Schemas {
    header: jsonschema::Validator,
    event: jsonschema::Validator,
    trailer: jsonschema::Validator,
}

impl Schemas {
    fn load() -> Self {
        Self {
            header: validator("export-header.schema.json"),
            event: validator("export-event.schema.json"),
            trailer: validator("export-trailer.schema.json"),
        }
    }

    fn assert_valid(&self, file: &[u8]) {
        let text = std::str::from_utf8(file).expect("exports are UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 2, "a header and a trailer at least");
        for (number, line) in lines.iter().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            let schema = if number == 0 {
                &self.header
            } else if number == lines.len() - 1 {
                &self.trailer
            } else {
                &self.event
            };
            let errors: Vec<String> = schema
                .iter_errors(&value)
                .map(|error| error.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "line {}: {line}\n{errors:#?}",
                number + 1
            );
        }
    }
}

/// The event schema is generated from the Rust types; the file in docs/schemas/ is that schema,
/// written out. `UPDATE_SCHEMAS=1 cargo test --test json_schema` writes it after a change.
#[test]
fn the_published_event_schema_is_the_one_generated_from_the_event_types() {
    let path = format!(
        "{}/docs/schemas/export-event.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let generated =
        serde_json::to_string_pretty(&service_lifecycle::export_event_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap();
    assert!(
        published == generated,
        "{path} differs from the schema generated from the event types; run \
         UPDATE_SCHEMAS=1 cargo test --test json_schema to write it"
    );
}

#[test]
fn the_schemas_refuse_what_they_should() {
    let schemas = Schemas::load();
    let bad_event = serde_json::json!({"position": 0, "stream_id": "", "data": {}});
    assert!(!schemas.event.is_valid(&bad_event));
    let bad_trailer = serde_json::json!({"trailer": {"events": 1, "crc32": "XYZ"}});
    assert!(!schemas.trailer.is_valid(&bad_trailer));
    let bad_header = serde_json::json!({"format": "other", "format_version": 1});
    assert!(!schemas.header.is_valid(&bad_header));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_exported_line_validates_against_the_schemas(ops in common::arbitrary_ops(50)) {
        let schemas = Schemas::load();
        let store = MemoryStore::<ServiceEvent>::new();
        common::run(store.clone(), &ops);
        let mut all = Vec::new();
        export_all(&store, &mut all).unwrap();
        schemas.assert_valid(&all);
        let mut after = Vec::new();
        export_after(&store, store.head_position().unwrap() / 2, &mut after).unwrap();
        schemas.assert_valid(&after);
        let first_stream = store.read_all(1).unwrap().next().map(|event| event.unwrap().stream_id.clone());
        let stream = first_stream.unwrap_or_else(|| StreamId::new("nothing").unwrap());
        let mut one = Vec::new();
        export_stream(&store, &stream, &mut one).unwrap();
        schemas.assert_valid(&one);
    }
}

/// An export of the domain scenario, as lines (header first, trailer last).
fn scenario_export() -> Vec<String> {
    let store = MemoryStore::<ServiceEvent>::new();
    service_lifecycle::testing::scenario::receipt_to_post_warranty_repair(store.clone());
    let mut file = Vec::new();
    export_all(&store, &mut file).unwrap();
    String::from_utf8(file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The file with its event line `index` replaced by `line` and the trailer's CRC-32 computed
/// again, so that only the line itself can be wrong.
fn with_line(lines: &[String], index: usize, line: &str) -> Vec<u8> {
    let mut lines = lines.to_vec();
    lines[index] = line.to_owned();
    let last = lines.len() - 1;
    let mut crc = crc32fast::Hasher::new();
    for event in &lines[1..last] {
        crc.update(event.as_bytes());
        crc.update(b"\n");
    }
    let mut trailer: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    trailer["trailer"]["crc32"] = format!("{:08x}", crc.finalize()).into();
    lines[last] = trailer.to_string();
    let mut file = lines.join("\n").into_bytes();
    file.push(b'\n');
    file
}

/// The line with the scalar value of payload field `key` replaced by `value` (JSON text).
fn set_field(line: &str, key: &str, value: &str) -> String {
    let data = line.find(r#""data":"#).expect("an event line has data");
    let needle = format!("\"{key}\":");
    let start = data
        + line[data..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} in {line}"))
        + needle.len();
    let end = start + line[start..].find([',', '}']).unwrap();
    format!("{}{value}{}", &line[..start], &line[end..])
}

/// The scalar value of payload field `key`, as JSON text.
fn field<'l>(line: &'l str, key: &str) -> &'l str {
    let data = line.find(r#""data":"#).expect("an event line has data");
    let needle = format!("\"{key}\":");
    let start = data
        + line[data..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} in {line}"))
        + needle.len();
    let end = start + line[start..].find([',', '}']).unwrap();
    &line[start..end]
}

fn imports(file: &[u8]) -> Result<(), String> {
    let target = MemoryStore::<ServiceEvent>::new();
    service_lifecycle::json::import(
        std::io::Cursor::new(file),
        &target,
        service_lifecycle::json::ImportOptions::new(),
    )
    .map(|_| ())
    .map_err(|error| error.to_string())
}

/// Hand-made bad lines: each is refused by the importer and by the published schema alike, and
/// the unchanged file passes both. The schema and the importer agree on what a valid line is.
#[test]
fn the_schema_and_the_importer_agree_on_every_hand_made_bad_line() {
    let schemas = Schemas::load();
    let lines = scenario_export();
    assert_eq!(imports(&with_line(&lines, 1, &lines[1])), Ok(()));
    let find = |event_type: &str| {
        lines
            .iter()
            .position(|line| line.contains(&format!(r#""event_type":"{event_type}""#)))
            .unwrap_or_else(|| panic!("the scenario records {event_type}"))
    };
    type Change = fn(&str) -> String;
    let cases: Vec<(&str, &str, Change)> = vec![
        ("an unknown payload field", "contract.activated", |l| {
            l.replace(r#""data":{"#, r#""data":{"zzz":1,"#)
        }),
        ("a missing payload field", "contract.activated", |l| {
            let start = l.find(r#""data":{"#).unwrap();
            format!(r#"{}"data":{{}}}}"#, &l[..start])
        }),
        (
            "a payload time of the wrong type",
            "contract.activated",
            |l| {
                let start = l.find(r#""data":{"at":"#).unwrap();
                format!(r#"{}"data":{{"at":12}}}}"#, &l[..start])
            },
        ),
        (
            "a payload time not in UTC's Z form",
            "contract.activated",
            |l| {
                let at = l.rfind(r#"Z"}}"#).unwrap();
                format!("{}+00:00\"}}}}", &l[..at])
            },
        ),
        (
            "a null payload for an event with fields",
            "contract.activated",
            |l| {
                let start = l.find(r#""data":{"#).unwrap();
                format!(r#"{}"data":null}}"#, &l[..start])
            },
        ),
        ("an unknown event type", "contract.activated", |l| {
            l.replace("contract.activated", "contract.teleported")
        }),
        (
            "an event type of another payload",
            "contract.activated",
            |l| l.replace("contract.activated", "customer.registered"),
        ),
        ("an upper-case event id", "contract.activated", |l| {
            let start = l.find(r#""event_id":""#).unwrap() + 12;
            let mut line = l.to_owned();
            line.replace_range(start..start + 36, &l[start..start + 36].to_uppercase());
            line
        }),
        ("a recorded-at with an offset", "contract.activated", |l| {
            let start = l.find(r#""recorded_at":""#).unwrap() + 15;
            let end = start + l[start..].find('"').unwrap();
            let mut line = l.to_owned();
            line.replace_range(end - 1..end, "+00:00");
            line
        }),
        ("an envelope key too many", "contract.activated", |l| {
            l.replacen('{', r#"{"extra":1,"#, 1)
        }),
        ("no metadata", "contract.activated", |l| {
            l.replace(r#""metadata":{},"#, "")
        }),
        ("metadata with a number", "contract.activated", |l| {
            l.replace(r#""metadata":{}"#, r#""metadata":{"k":1}"#)
        }),
        ("a position as a string", "contract.activated", |l| {
            let start = l.find(r#""position":"#).unwrap() + 11;
            let end = start + l[start..].find(',').unwrap();
            format!("{}\"{}\"{}", &l[..start], &l[start..end], &l[end..])
        }),
        (
            "a schema version from the future",
            "contract.activated",
            |l| l.replace(r#""schema_version":1"#, r#""schema_version":2"#),
        ),
        ("a negative quantity", "parts.issued", |l| {
            set_field(l, "quantity", "-1")
        }),
        ("a quantity beyond u32", "parts.issued", |l| {
            set_field(l, "quantity", "4294967296")
        }),
        ("a fractional quantity", "parts.issued", |l| {
            set_field(l, "quantity", "1.5")
        }),
        ("an unknown stock location", "parts.stock_received", |l| {
            set_field(l, "location", r#""the_moon""#)
        }),
        (
            "an unknown relationship level",
            "customer.level_changed",
            |l| set_field(l, "from", r#""royal""#),
        ),
        ("a part number with a space", "parts.part_registered", |l| {
            let part = field(l, "part").trim_matches('"');
            set_field(l, "part", &format!("\"{part} 2\""))
        }),
        (
            "a payload id without its hyphens",
            "product.unit_sold",
            |l| {
                let customer = field(l, "customer").replace('-', "");
                set_field(l, "customer", &customer)
            },
        ),
        ("a boolean as a string", "product.test_run_recorded", |l| {
            let passed = field(l, "passed");
            set_field(l, "passed", &format!("\"{passed}\""))
        }),
        ("a date with a time", "product.warranty_started", |l| {
            let from = field(l, "from").trim_matches('"');
            set_field(l, "from", &format!("\"{from}T{}\"", "00:00:00Z"))
        }),
    ];
    let mut disagreements = Vec::new();
    for (what, event_type, change) in cases {
        let index = find(event_type);
        let line = change(&lines[index]);
        assert_ne!(line, lines[index], "{what}: the change changes the line");
        let by_importer = imports(&with_line(&lines, index, &line));
        let by_schema = serde_json::from_str::<serde_json::Value>(&line)
            .map(|value| schemas.event.is_valid(&value))
            .unwrap_or(false);
        if by_importer.is_ok() || by_schema {
            disagreements.push(format!(
                "{what}: importer {by_importer:?}, schema accepts: {by_schema}\n  {line}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "accepted by one of them:\n{}",
        disagreements.join("\n")
    );
}

/// The command-line schema (`exec`'s input) is generated from the command types; the file in
/// docs/schemas/ is that schema, written out (`UPDATE_SCHEMAS=1` writes it after a change), and
/// it takes the lines the application takes and refuses what it refuses.
#[test]
fn the_published_command_line_schema_is_the_one_generated_and_validates_real_lines() {
    let path = format!(
        "{}/docs/schemas/command-line.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let generated =
        serde_json::to_string_pretty(&service_lifecycle::command_line_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap();
    assert!(
        published == generated,
        "{path} differs from the schema generated from the command types; run \
         UPDATE_SCHEMAS=1 cargo test --test json_schema to write it"
    );
    let schema = validator("command-line.schema.json");
    let line = serde_json::json!({
        "id": "0190a5b4-0000-7000-8000-0000000000a1",
        "aggregate": "technician",
        "command": {"Hire": {
            "technician": "0190a5b4-0000-7000-8000-000000000777",
            "name": "Olga Kuznetsova",
            "at": "2026-12-01T09:00:00Z"
        }}
    });
    let errors: Vec<String> = schema.iter_errors(&line).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    serde_json::from_value::<service_lifecycle::CommandLine>(line.clone()).unwrap();
    let mut unknown = line.clone();
    unknown["aggregate"] = serde_json::json!("invoice");
    assert!(!schema.is_valid(&unknown));
    let mut no_id = line;
    no_id.as_object_mut().unwrap().remove("id");
    assert!(!schema.is_valid(&no_id));
}
