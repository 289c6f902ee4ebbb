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
