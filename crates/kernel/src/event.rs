//! Events: facts named by a stable type name and versioned by their payload's schema, and how an
//! application's event type contains each aggregate's.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::payload::CodecError;

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
    /// [`write_tagged_payload`](crate::codec::write_tagged_payload), which serializes directly (see the example there).
    fn write_payload(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let payload = self.to_payload()?;
        serde_json::to_writer(out, &payload).map_err(|source| CodecError::Encode {
            event_type: self.event_type().to_owned(),
            source,
        })
    }

    /// Rebuilds an event from its type name and current-version payload given as JSON bytes.
    /// Stores call this on every read. The default goes through a `serde_json::Value`;
    /// adjacently tagged enums can override it with [`tagged_from_payload_bytes`](crate::codec::tagged_from_payload_bytes).
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
