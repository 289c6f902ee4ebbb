//! The payload codec events share with every store, and the rules for event type names: an
//! event's payload is JSON whose outer object is tagged by the event's stable type name. Its
//! helpers are public in [`codec`](crate::codec); its errors at the crate root.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The longest event type name the kernel accepts, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// [`Event::write_payload`](crate::Event::write_payload) for an adjacently tagged enum (`#[serde(tag = "type", content =
/// "data")]`, the default encoding): serializes the event directly and keeps the content, without
/// building a `serde_json::Value`. A variant without content writes `null`, as
/// [`Event::to_payload`](crate::Event::to_payload) gives.
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
/// [`write_payload`](crate::Event::write_payload) and [`from_payload_bytes`](crate::Event::from_payload_bytes)
/// with [`write_tagged_payload`] and [`tagged_from_payload_bytes`], the direct codecs that skip
/// `serde_json::Value`.
#[doc(hidden)]
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

/// [`Event::from_payload_bytes`](crate::Event::from_payload_bytes) for an adjacently tagged enum: deserializes the event directly
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
