//! Events and deciders: the two ideas every aggregate is made of.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// The longest event type name the kernel accepts, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// One kind of event and the current version of its payload's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EventSchema {
    /// The stable name, such as `"product.warranty_started"`.
    pub event_type: &'static str,
    /// The current schema version of the payload (from 1).
    pub schema_version: u32,
}

impl EventSchema {
    /// The catalogue of event types that are all at schema version 1: the usual start of an
    /// aggregate's catalogue.
    pub fn all_at_version_one(event_types: &[&'static str]) -> Vec<EventSchema> {
        event_types
            .iter()
            .map(|&event_type| EventSchema {
                event_type,
                schema_version: 1,
            })
            .collect()
    }
}

/// A domain event: a fact, named by a stable type name and versioned by its payload's schema.
///
/// The default encoding expects the serde representation of an *adjacently tagged* enum,
/// `#[serde(tag = "type", content = "data")]`, whose tags are the stable names. Override
/// [`to_payload`](Event::to_payload) and [`from_payload`](Event::from_payload) for anything else.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use service_lifecycle_kernel::{Event, EventSchema};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// #[serde(tag = "type", content = "data")]
/// enum LampEvent {
///     #[serde(rename = "lamp.switched_on")]
///     SwitchedOn { brightness: u8 },
///     #[serde(rename = "lamp.switched_off")]
///     SwitchedOff,
/// }
///
/// impl Event for LampEvent {
///     fn event_type(&self) -> &'static str {
///         match self {
///             Self::SwitchedOn { .. } => "lamp.switched_on",
///             Self::SwitchedOff => "lamp.switched_off",
///         }
///     }
///     fn catalogue() -> Vec<EventSchema> {
///         vec![
///             EventSchema { event_type: "lamp.switched_on", schema_version: 1 },
///             EventSchema { event_type: "lamp.switched_off", schema_version: 1 },
///         ]
///     }
/// }
///
/// let on = LampEvent::SwitchedOn { brightness: 80 };
/// let payload = on.to_payload().unwrap();
/// assert_eq!(payload, serde_json::json!({ "brightness": 80 }));
/// assert_eq!(LampEvent::from_payload("lamp.switched_on", payload).unwrap(), on);
/// ```
pub trait Event:
    Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The stable name of this event's type. Never derived from the Rust identifier.
    fn event_type(&self) -> &'static str;

    /// The schema version of this event's payload as the code writes it today.
    fn schema_version(&self) -> u32 {
        1
    }

    /// Every event type this Rust type can hold, with its current schema version.
    fn catalogue() -> Vec<EventSchema>;

    /// The event's payload as JSON, without its type name.
    fn to_payload(&self) -> Result<Value, CodecError> {
        let declared = self.event_type();
        let tagged = serde_json::to_value(self).map_err(|source| CodecError::Encode {
            event_type: declared.to_owned(),
            source,
        })?;
        let Value::Object(mut fields) = tagged else {
            return Err(CodecError::NotAdjacentlyTagged {
                event_type: declared.to_owned(),
            });
        };
        match fields.remove("type") {
            Some(Value::String(serialized)) if serialized == declared => {}
            Some(Value::String(serialized)) => {
                return Err(CodecError::TypeMismatch {
                    declared: declared.to_owned(),
                    serialized,
                })
            }
            _ => {
                return Err(CodecError::NotAdjacentlyTagged {
                    event_type: declared.to_owned(),
                })
            }
        }
        Ok(fields.remove("data").unwrap_or(Value::Null))
    }

    /// Appends the payload, as JSON bytes, to `out`: what [`to_payload`](Event::to_payload) gives,
    /// serialized. Stores call this on every append. The default goes through a
    /// `serde_json::Value`; adjacently tagged enums can override it with
    /// [`write_tagged_payload`], which serializes directly (see the example there).
    fn write_payload(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let payload = self.to_payload()?;
        serde_json::to_writer(out, &payload).map_err(|source| CodecError::Encode {
            event_type: self.event_type().to_owned(),
            source,
        })
    }

    /// Rebuilds an event from its type name and current-version payload given as JSON bytes.
    /// Stores call this on every read. The default goes through a `serde_json::Value`;
    /// adjacently tagged enums can override it with [`tagged_from_payload_bytes`].
    fn from_payload_bytes(event_type: &str, payload: &[u8]) -> Result<Self, CodecError> {
        let value = serde_json::from_slice(payload).map_err(|source| CodecError::Decode {
            event_type: event_type.to_owned(),
            source,
        })?;
        Self::from_payload(event_type, value)
    }

    /// Rebuilds an event from its type name and current-version payload.
    fn from_payload(event_type: &str, payload: Value) -> Result<Self, CodecError> {
        let mut tagged = Map::with_capacity(2);
        tagged.insert("type".to_owned(), Value::String(event_type.to_owned()));
        let payload_is_null = payload.is_null();
        if !payload_is_null {
            tagged.insert("data".to_owned(), payload);
        }
        match serde_json::from_value(Value::Object(tagged.clone())) {
            Ok(event) => Ok(event),
            // A variant whose content serializes as `null` needs it spelled out.
            Err(_) if payload_is_null => {
                tagged.insert("data".to_owned(), Value::Null);
                serde_json::from_value(Value::Object(tagged)).map_err(|source| CodecError::Decode {
                    event_type: event_type.to_owned(),
                    source,
                })
            }
            Err(source) => Err(CodecError::Decode {
                event_type: event_type.to_owned(),
                source,
            }),
        }
    }
}

/// [`Event::write_payload`] for an adjacently tagged enum (`#[serde(tag = "type", content =
/// "data")]`, the default encoding): serializes the event directly and keeps the content, without
/// building a `serde_json::Value`. A variant without content writes `null`, as
/// [`Event::to_payload`] gives.
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # use service_lifecycle_kernel::codec::{tagged_from_payload_bytes, write_tagged_payload};
/// # use service_lifecycle_kernel::{CodecError, Event, EventSchema};
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// #[serde(tag = "type", content = "data")]
/// enum LampEvent {
///     #[serde(rename = "lamp.switched_on")]
///     SwitchedOn { brightness: u8 },
/// }
///
/// impl Event for LampEvent {
///     fn event_type(&self) -> &'static str { "lamp.switched_on" }
///     fn catalogue() -> Vec<EventSchema> { EventSchema::all_at_version_one(&["lamp.switched_on"]) }
///     fn write_payload(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
///         write_tagged_payload(self, self.event_type(), out)
///     }
///     fn from_payload_bytes(event_type: &str, payload: &[u8]) -> Result<Self, CodecError> {
///         tagged_from_payload_bytes(event_type, payload)
///     }
/// }
///
/// let mut bytes = Vec::new();
/// LampEvent::SwitchedOn { brightness: 80 }.write_payload(&mut bytes).unwrap();
/// assert_eq!(bytes, br#"{"brightness":80}"#);
/// let back = LampEvent::from_payload_bytes("lamp.switched_on", &bytes).unwrap();
/// assert_eq!(back, LampEvent::SwitchedOn { brightness: 80 });
/// ```
pub fn write_tagged_payload<E: Serialize>(
    event: &E,
    event_type: &str,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let encode_error = |source| CodecError::Encode {
        event_type: event_type.to_owned(),
        source,
    };
    let start = out.len();
    serde_json::to_writer(&mut *out, event).map_err(encode_error)?;
    let mut prefix = br#"{"type":"#.to_vec();
    serde_json::to_writer(&mut prefix, event_type).map_err(encode_error)?;
    let tagged_with_data = [prefix.as_slice(), br#","data":"#].concat();
    let written = &out[start..];
    if written.starts_with(&tagged_with_data) && written.ends_with(b"}") {
        out.pop();
        out.drain(start..start + tagged_with_data.len());
        return Ok(());
    }
    if written == [prefix.as_slice(), b"}"].concat() {
        out.truncate(start);
        out.extend_from_slice(b"null");
        return Ok(());
    }
    let error = if written.starts_with(br#"{"type":"#) && !written.starts_with(&prefix) {
        CodecError::TypeMismatch {
            declared: event_type.to_owned(),
            serialized: String::from_utf8_lossy(written).into_owned(),
        }
    } else {
        CodecError::NotAdjacentlyTagged {
            event_type: event_type.to_owned(),
        }
    };
    out.truncate(start);
    Err(error)
}

/// Inside `impl Event for …` of an adjacently tagged enum: overrides
/// [`write_payload`](Event::write_payload) and [`from_payload_bytes`](Event::from_payload_bytes)
/// with [`write_tagged_payload`] and [`tagged_from_payload_bytes`], the direct codecs that skip
/// `serde_json::Value`.
#[macro_export]
macro_rules! tagged_payload_codec {
    () => {
        fn write_payload(&self, out: &mut Vec<u8>) -> Result<(), $crate::CodecError> {
            $crate::codec::write_tagged_payload(self, $crate::Event::event_type(self), out)
        }

        fn from_payload_bytes(
            event_type: &str,
            payload: &[u8],
        ) -> Result<Self, $crate::CodecError> {
            $crate::codec::tagged_from_payload_bytes(event_type, payload)
        }
    };
}

/// [`Event::from_payload_bytes`] for an adjacently tagged enum: deserializes the event directly
/// from the type name and the payload bytes, without building a `serde_json::Value` (see
/// [`write_tagged_payload`]).
pub fn tagged_from_payload_bytes<E: DeserializeOwned>(
    event_type: &str,
    payload: &[u8],
) -> Result<E, CodecError> {
    let decode_error = |source| CodecError::Decode {
        event_type: event_type.to_owned(),
        source,
    };
    let mut tagged = Vec::with_capacity(payload.len() + event_type.len() + 24);
    tagged.extend_from_slice(br#"{"type":"#);
    serde_json::to_writer(&mut tagged, event_type).map_err(decode_error)?;
    let is_null = payload.trim_ascii() == b"null";
    if is_null {
        // A variant without content is serialized without "data"; try that first.
        let mut without_data = tagged.clone();
        without_data.push(b'}');
        if let Ok(event) = serde_json::from_slice(&without_data) {
            return Ok(event);
        }
    }
    tagged.extend_from_slice(br#","data":"#);
    tagged.extend_from_slice(payload);
    tagged.push(b'}');
    serde_json::from_slice(&tagged).map_err(decode_error)
}

/// An event could not be turned into JSON or back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// serde_json failed to serialize the event.
    #[error("event {event_type} could not be encoded: {source}")]
    Encode {
        /// The event's type name.
        event_type: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// The payload does not match the event type's current shape.
    #[error("payload of event {event_type} could not be decoded: {source}")]
    Decode {
        /// The event's type name.
        event_type: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// `event_type()` and the serde tag disagree: the two names of one variant drifted apart.
    #[error("event declares type {declared:?} but serializes with tag {serialized:?}")]
    TypeMismatch {
        /// What `event_type()` returned.
        declared: String,
        /// The tag serde wrote.
        serialized: String,
    },
    /// The default encoding needs `#[serde(tag = "type", content = "data")]`.
    #[error("event {event_type} does not serialize as an adjacently tagged enum (tag \"type\", content \"data\")")]
    NotAdjacentlyTagged {
        /// The event's type name.
        event_type: String,
    },
}

/// Why an event type name is not acceptable to a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidEventType {
    /// The name is empty.
    #[error("is empty")]
    Empty,
    /// The name is longer than [`MAX_EVENT_TYPE_LEN`].
    #[error("is {len} bytes long, more than the {MAX_EVENT_TYPE_LEN} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds whitespace, a control character or a non-ASCII character.
    #[error("holds a character other than printable ASCII")]
    BadCharacter,
}

/// Checks an event type name: non-empty, at most [`MAX_EVENT_TYPE_LEN`] bytes, printable ASCII
/// without spaces. Every store calls this before it writes.
pub fn validate_event_type(event_type: &str) -> Result<(), InvalidEventType> {
    if event_type.is_empty() {
        return Err(InvalidEventType::Empty);
    }
    if event_type.len() > MAX_EVENT_TYPE_LEN {
        return Err(InvalidEventType::TooLong {
            len: event_type.len(),
        });
    }
    // A fold without early exit compiles to a vector loop; names are short and almost always
    // valid, and every append checks them.
    if !event_type
        .bytes()
        .fold(true, |valid, byte| valid & byte.is_ascii_graphic())
    {
        return Err(InvalidEventType::BadCharacter);
    }
    Ok(())
}

thread_local! {
    /// The last static name that passed [`validate_static_event_type`], as (address, length).
    static LAST_VALID_STATIC_NAME: std::cell::Cell<(usize, usize)> =
        const { std::cell::Cell::new((0, 0)) };
}

/// [`validate_event_type`] for a name that lives forever, remembering the last valid one per
/// thread: appends check every event's name, and a run of events mostly repeats one. A `'static`
/// string is never freed, so the same address and length always hold the same name.
pub fn validate_static_event_type(event_type: &'static str) -> Result<(), InvalidEventType> {
    let key = (event_type.as_ptr() as usize, event_type.len());
    if LAST_VALID_STATIC_NAME.get() == key {
        return Ok(());
    }
    validate_event_type(event_type)?;
    LAST_VALID_STATIC_NAME.set(key);
    Ok(())
}

/// The pure heart of an aggregate: `decide` and `apply`.
///
/// # What is an aggregate?
/// An aggregate is a consistency boundary (one product unit, one customer, one contract). Its state is
/// never stored: it is the *fold* of the events it has recorded. A [`Decider`] states the two pure
/// functions that define one:
///
/// - `decide(&state, &command)` looks at the current state and a command and answers with the events
///   that record what happened, or with a typed error that names the broken rule. It never mutates,
///   never reads a clock (business time comes inside the command) and never does I/O.
/// - `apply(&mut state, &event)` folds one event into the state. It is total: it never fails for an
///   event that `decide` produced, because an event is a fact that already happened.
///
/// # Event names are a contract
/// Stored events outlive the code that wrote them. Every event therefore has a stable
/// [`event_type`](Event::event_type) name (`"product.warranty_started"`) that is *not* the Rust
/// identifier, and a [`schema_version`](Event::schema_version) of its payload's shape. Renaming an
/// enum variant changes nothing stored; changing a payload's shape bumps its version and registers an
/// upcaster (see [`Upcasters`](crate::Upcasters)).
pub trait Decider: 'static {
    /// The folded state. `Default` is the state of a stream with no events.
    type State: Default + Clone + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What a caller asks for.
    type Command: fmt::Debug;
    /// What the aggregate records.
    type Event: Event;
    /// Why a command is rejected: a typed error naming the rule and the ids involved.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The version of [`State`](Decider::State)'s serialized shape; snapshots of another version are
    /// ignored and the stream is replayed instead. Bump it when the state's shape changes.
    const STATE_VERSION: u32 = 1;

    /// Folds one event into the state. Total: never fails for an event `decide` produced.
    fn apply(state: &mut Self::State, event: &Self::Event);

    /// Decides a command against the current state: the events to record, or why not.
    fn decide(
        state: &Self::State,
        command: &Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after folding `events` into the initial state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State {
        let mut state = Self::State::default();
        for event in events {
            Self::apply(&mut state, event);
        }
        state
    }
}

/// An application's event type that includes the events of one aggregate.
///
/// A store holds one event type for the whole application (typically an enum with one variant per
/// aggregate); each aggregate's repository narrows it to the aggregate's own events by reference,
/// without copying. Every event type contains itself.
pub trait Contains<T>: Event + From<T> {
    /// This event as the aggregate's event, when it is one.
    fn narrow(&self) -> Option<&T>;
}

impl<T: Event> Contains<T> for T {
    fn narrow(&self) -> Option<&T> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_validation_names_the_problem() {
        assert_eq!(validate_event_type(""), Err(InvalidEventType::Empty));
        assert_eq!(
            validate_event_type(&"a".repeat(MAX_EVENT_TYPE_LEN + 1)),
            Err(InvalidEventType::TooLong {
                len: MAX_EVENT_TYPE_LEN + 1
            })
        );
        assert_eq!(
            validate_event_type("a b"),
            Err(InvalidEventType::BadCharacter)
        );
        assert_eq!(
            validate_event_type("é"),
            Err(InvalidEventType::BadCharacter)
        );
        assert_eq!(validate_event_type("product.warranty_started"), Ok(()));
    }

    #[test]
    fn static_names_are_validated_then_remembered() {
        assert_eq!(validate_static_event_type("counter.closed"), Ok(()));
        assert_eq!(validate_static_event_type("counter.closed"), Ok(()));
        assert_eq!(
            validate_static_event_type("bad name"),
            Err(InvalidEventType::BadCharacter)
        );
        assert_eq!(
            validate_static_event_type("bad name"),
            Err(InvalidEventType::BadCharacter)
        );
        assert_eq!(validate_static_event_type(""), Err(InvalidEventType::Empty));
    }
}
