use serde_json::json;

use super::*;
use crate::testing::fixture::{counter_upcasters, CounterEvent};
use crate::testing::laws;

fn decoder() -> EventDecoder<CounterEvent> {
    EventDecoder::new(counter_upcasters())
}

#[test]
fn a_current_payload_decodes_without_upcasting() {
    let event = decoder()
        .decode("counter.incremented", 2, json!({ "by": 3 }))
        .unwrap();
    assert_eq!(event, CounterEvent::Incremented { by: 3 });
}

#[test]
fn an_older_payload_is_upcast_to_the_current_version() {
    let event = decoder()
        .decode("counter.incremented", 1, json!({ "amount": 3 }))
        .unwrap();
    assert_eq!(event, CounterEvent::Incremented { by: 3 });
}

#[test]
fn steps_chain_from_the_stored_version_to_the_current_one() {
    let upcasters = Upcasters::new()
        .with("thing.happened", 1, |payload| Ok(json!({ "v2": payload })))
        .with("thing.happened", 2, |payload| Ok(json!({ "v3": payload })));
    let upcast = upcasters.upcast("thing.happened", 1, 3, json!(1)).unwrap();
    assert_eq!(upcast, json!({ "v3": { "v2": 1 } }));
}

#[test]
fn a_unit_variant_round_trips_without_data() {
    let encoded = EncodedEvent::encode(&CounterEvent::Closed).unwrap();
    assert_eq!(encoded.payload, serde_json::Value::Null);
    assert_eq!(
        decoder().decode_encoded(encoded).unwrap(),
        CounterEvent::Closed
    );
}

#[test]
fn every_fixture_event_encodes_and_decodes_to_itself() {
    let events = [
        CounterEvent::Incremented { by: 1 },
        CounterEvent::Decremented { by: 2 },
        CounterEvent::Closed,
    ];
    laws::assert_upcast_stable(&events, &decoder());
}

#[test]
fn an_unknown_event_type_is_a_typed_error() {
    let error = decoder()
        .decode("counter.exploded", 1, json!({}))
        .unwrap_err();
    assert!(
        matches!(&error, DecodeError::UnknownEventType { event_type } if event_type == "counter.exploded"),
        "{error}"
    );
}

#[test]
fn a_version_newer_than_the_code_is_a_typed_error() {
    let error = decoder()
        .decode("counter.closed", 2, serde_json::Value::Null)
        .unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::FutureSchemaVersion {
                stored_version: 2,
                current_version: 1,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_version_with_no_upcast_path_is_a_typed_error_naming_the_missing_step() {
    let error = EventDecoder::<CounterEvent>::default()
        .decode("counter.incremented", 1, json!({ "amount": 3 }))
        .unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::NoUpcastPath {
                missing_step: 1,
                current_version: 2,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_step_that_refuses_its_payload_is_a_typed_error() {
    let error = decoder()
        .decode("counter.incremented", 1, json!({ "wrong": 3 }))
        .unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::UpcastFailed {
                from_version: 1,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_payload_of_the_wrong_shape_is_a_typed_error() {
    for payload in [
        json!({ "by": "three" }),
        json!([1, 2]),
        json!(null),
        json!({ "by": -1 }),
    ] {
        let error = decoder()
            .decode("counter.incremented", 2, payload.clone())
            .unwrap_err();
        assert!(
            matches!(error, DecodeError::Payload(CodecError::Decode { .. })),
            "{payload}: {error}"
        );
    }
}

#[test]
fn deeply_nested_payloads_are_an_error_not_a_crash() {
    // Stored payloads are parsed with serde_json's nesting limit (128), so no deeper value reaches
    // the decoder; one just under the limit is refused as a payload error.
    let text = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(decoder().decode("counter.incremented", 2, payload).is_err());
    let too_deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(serde_json::from_str::<serde_json::Value>(&too_deep).is_err());
}
