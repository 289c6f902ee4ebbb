//! The JSON Schema of an export's event line, with the payload of every event type, derived from
//! the Rust types so that it cannot drift from what the exporter writes and the importer reads.
//!
//! Each event enum derives `schemars::JsonSchema` under the same serde attributes that encode it,
//! so the schema of a variant's `data` is the schema of what `serde_json` writes for it. The
//! schema is generated for the *serialize* contract (a field the serializer always writes is
//! required, `null` included) and then made as strict as the importer: the importer refuses a line
//! that it would not write back byte for byte, so no object takes a property it does not name,
//! integers stay within their Rust type, and ids and times take only their canonical form
//! (lower-case UUIDs, UTC times ending in `Z`). `docs/schemas/export-event.schema.json` is this
//! schema, written out; a test fails when the two differ.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::contract::ContractEvent;
use crate::coverage::CoverageEvent;
use crate::customer::CustomerEvent;
use crate::kernel::Event;
use crate::model::ModelEvent;
use crate::parts::PartEvent;
use crate::policy_log::PolicyEvent;
use crate::product::ProductEvent;
use crate::technician::TechnicianEvent;
use crate::ServiceEvent;

/// A canonical UUID: lower-case hex in the 8-4-4-4-12 groups.
const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// A canonical UTC time as chrono writes it: seconds, then 0, 3, 6 or 9 fraction digits, then `Z`.
const TIME_PATTERN: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{3}|\\.[0-9]{6}|\\.[0-9]{9})?Z$";

/// The JSON Schema (draft 2020-12) of one event line of a JSON export of service-lifecycle
/// events: the envelope, the list of event types, and for each type the schema of its `data`.
pub fn export_event_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut data_by_type = Map::new();
    for enum_schema in [
        generator.subschema_for::<ProductEvent>(),
        generator.subschema_for::<CustomerEvent>(),
        generator.subschema_for::<ContractEvent>(),
        generator.subschema_for::<PartEvent>(),
        generator.subschema_for::<TechnicianEvent>(),
        generator.subschema_for::<CoverageEvent>(),
        generator.subschema_for::<PolicyEvent>(),
        generator.subschema_for::<ModelEvent>(),
    ] {
        let definitions = generator.definitions();
        let enum_schema = resolve(enum_schema.as_value(), definitions);
        for variant in variants(&enum_schema) {
            let (name, data) = variant_data(variant);
            data_by_type.insert(name, data);
        }
    }
    let mut definitions = Value::Object(generator.take_definitions(true));
    // The event enums themselves are taken apart above; only their parts are referred to.
    if let Value::Object(definitions) = &mut definitions {
        for name in [
            ProductEvent::schema_name(),
            CustomerEvent::schema_name(),
            ContractEvent::schema_name(),
            PartEvent::schema_name(),
            TechnicianEvent::schema_name(),
            CoverageEvent::schema_name(),
            PolicyEvent::schema_name(),
            ModelEvent::schema_name(),
        ] {
            definitions.remove(name.as_ref());
        }
    }
    make_strict(&mut definitions);
    data_by_type.values_mut().for_each(make_strict);
    let versions: Map<String, Value> = ServiceEvent::catalogue()
        .into_iter()
        .map(|schema| (schema.event_type.to_owned(), json!(schema.schema_version)))
        .collect();
    let mut event_types: Vec<&String> = data_by_type.keys().collect();
    event_types.sort();
    let per_type: Vec<Value> = event_types
        .iter()
        .map(|name| {
            json!({
                "if": { "properties": { "event_type": { "const": name } } },
                "then": { "properties": {
                    "schema_version": { "const": versions.get(name.as_str()).cloned().unwrap_or(json!(1)) },
                    "data": data_by_type[name.as_str()],
                } }
            })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/service-lifecycle/schemas/export-event.schema.json",
        "title": "service-lifecycle event export: event line (one envelope)",
        "description": "Generated from the Rust event types by service_lifecycle::export_event_schema; do not edit by hand.",
        "type": "object",
        "additionalProperties": false,
        "required": [
            "position", "stream_id", "stream_version", "event_id", "event_type", "schema_version",
            "recorded_at", "correlation_id", "causation_id", "metadata", "data"
        ],
        "properties": {
            "position": { "type": "integer", "minimum": 1, "maximum": u64::MAX },
            "stream_id": { "type": "string", "minLength": 1, "maxLength": 256 },
            "stream_version": { "type": "integer", "minimum": 1, "maximum": u64::MAX },
            "event_id": { "type": "string", "format": "uuid", "pattern": UUID_PATTERN },
            "event_type": { "enum": event_types },
            "schema_version": { "type": "integer", "minimum": 1, "maximum": u32::MAX },
            "recorded_at": { "type": "string", "format": "date-time", "pattern": TIME_PATTERN },
            "correlation_id": { "type": "string", "format": "uuid", "pattern": UUID_PATTERN },
            "causation_id": { "type": "string", "format": "uuid", "pattern": UUID_PATTERN },
            "metadata": { "type": "object", "additionalProperties": { "type": "string" } },
            "data": true
        },
        "allOf": per_type,
        "$defs": definitions,
    })
}

/// The schema itself, or the definition a `$ref` points to.
fn resolve(schema: &Value, definitions: &Map<String, Value>) -> Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.rsplit('/').next())
        .and_then(|name| definitions.get(name))
        .cloned()
        .unwrap_or_else(|| schema.clone())
}

/// The variants of an adjacently tagged enum's schema (`oneOf`, or `anyOf`).
fn variants(schema: &Value) -> impl Iterator<Item = &Value> {
    ["oneOf", "anyOf"]
        .into_iter()
        .filter_map(|key| schema.get(key).and_then(Value::as_array))
        .flatten()
}

/// A variant's type name (its `type` tag) and the schema of its `data` (`null` when it has none).
fn variant_data(variant: &Value) -> (String, Value) {
    let properties = variant.get("properties");
    let tag = properties.and_then(|properties| properties.get("type"));
    let name = tag
        .and_then(|tag| {
            tag.get("const")
                .or_else(|| tag.get("enum").and_then(|e| e.get(0)))
        })
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let data = properties
        .and_then(|properties| properties.get("data"))
        .cloned()
        .unwrap_or_else(|| json!({ "type": "null" }));
    (name, data)
}

/// Makes a schema, and every subschema in it, as strict as the importer (see the module's docs).
fn make_strict(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if object.contains_key("properties") && !object.contains_key("additionalProperties") {
                object.insert("additionalProperties".into(), Value::Bool(false));
            }
            let bounds: Option<(Value, Value)> = match object.get("format").and_then(Value::as_str)
            {
                Some("uint8") => Some((0.into(), u8::MAX.into())),
                Some("uint16") => Some((0.into(), u16::MAX.into())),
                Some("uint32") => Some((0.into(), u32::MAX.into())),
                Some("uint64" | "uint") => Some((0.into(), u64::MAX.into())),
                Some("int8") => Some((i8::MIN.into(), i8::MAX.into())),
                Some("int16") => Some((i16::MIN.into(), i16::MAX.into())),
                Some("int32") => Some((i32::MIN.into(), i32::MAX.into())),
                Some("int64" | "int") => Some((i64::MIN.into(), i64::MAX.into())),
                _ => None,
            };
            if let Some((minimum, maximum)) = bounds {
                object.insert("minimum".into(), minimum);
                object.insert("maximum".into(), maximum);
            }
            let pattern = match object.get("format").and_then(Value::as_str) {
                Some("uuid") => Some(UUID_PATTERN),
                Some("date-time") => Some(TIME_PATTERN),
                _ => None,
            };
            if let Some(pattern) = pattern {
                object.insert("pattern".into(), pattern.into());
            }
            for (key, value) in object.iter_mut() {
                match (key.as_str(), value) {
                    // Maps from names to schemas: each value is a schema, the map is not.
                    (
                        "properties" | "$defs" | "definitions" | "patternProperties",
                        Value::Object(map),
                    ) => {
                        map.values_mut().for_each(make_strict);
                    }
                    // Values, not schemas.
                    ("const" | "enum" | "default" | "examples" | "required", _) => {}
                    (_, value) => make_strict(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_strict),
        _ => {}
    }
}
