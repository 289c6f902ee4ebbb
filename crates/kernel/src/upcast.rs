//! Schema evolution: reading events written by older code.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::Event;
use crate::payload::CodecError;

/// One upcasting step: a version-`n` payload to a version-`n + 1` payload, or why not.
pub type UpcastStep = Box<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

/// The registered upcasting steps, keyed by (event type, the version they upcast from).
///
/// Stored events are never rewritten. When an event's payload changes shape, its schema version goes
/// up and an *upcaster* is registered for the old `(event type, version)`: a function from the old
/// JSON payload to the next version's. Upcasters chain, so a version-1 payload read by code at
/// version 3 passes through the 1→2 and 2→3 steps. Decoding a type the code does not know, a version
/// newer than the code's, or a version with a missing step is a typed [`DecodeError`], never a panic.
#[derive(Default)]
pub struct Upcasters {
    steps: HashMap<(String, u32), UpcastStep>,
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.steps.keys().collect();
        keys.sort();
        f.debug_struct("Upcasters").field("steps", &keys).finish()
    }
}

impl Upcasters {
    /// No steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step that turns a `from_version` payload of `event_type` into a
    /// `from_version + 1` payload. A later registration for the same key replaces the earlier.
    ///
    /// ```
    /// use serde_json::json;
    /// use service_lifecycle_kernel::Upcasters;
    ///
    /// let upcasters = Upcasters::new().with("lamp.switched_on", 1, |mut payload| {
    ///     // Version 2 renamed `level` to `brightness`.
    ///     let level = payload["level"].take();
    ///     Ok(json!({ "brightness": level }))
    /// });
    /// let upcast = upcasters.upcast("lamp.switched_on", 1, 2, json!({ "level": 5 })).unwrap();
    /// assert_eq!(upcast, json!({ "brightness": 5 }));
    /// ```
    pub fn with(
        mut self,
        event_type: &str,
        from_version: u32,
        step: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .insert((event_type.to_owned(), from_version), Box::new(step));
        self
    }

    /// Runs the chain of steps from version `from` to version `to`.
    pub fn upcast(
        &self,
        event_type: &str,
        from: u32,
        to: u32,
        mut payload: Value,
    ) -> Result<Value, DecodeError> {
        for version in from..to {
            let step = self
                .steps
                .get(&(event_type.to_owned(), version))
                .ok_or_else(|| DecodeError::NoUpcastPath {
                    event_type: event_type.to_owned(),
                    stored_version: from,
                    current_version: to,
                    missing_step: version,
                })?;
            payload = step(payload).map_err(|reason| DecodeError::UpcastFailed {
                event_type: event_type.to_owned(),
                from_version: version,
                reason,
            })?;
        }
        Ok(payload)
    }
}

/// An event in its storable form: type name, schema version and JSON payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedEvent {
    /// The stable type name.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload.
    pub payload: Value,
}

impl EncodedEvent {
    /// Encodes an event at its current schema version.
    pub fn encode<E: Event>(event: &E) -> Result<Self, CodecError> {
        Ok(Self {
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.to_payload()?,
        })
    }
}

/// Why a stored event could not be turned into a current event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No event type of that name exists in the code.
    #[error("unknown event type {event_type:?}")]
    UnknownEventType {
        /// The stored type name.
        event_type: String,
    },
    /// The stored version is newer than the code's: the store was written by newer code.
    #[error("event type {event_type} is stored at schema version {stored_version}, newer than this code's {current_version}")]
    FutureSchemaVersion {
        /// The type name.
        event_type: String,
        /// The stored version.
        stored_version: u32,
        /// The code's version.
        current_version: u32,
    },
    /// An upcasting step between the stored and the current version is not registered.
    #[error("event type {event_type} stored at schema version {stored_version} cannot reach version {current_version}: no upcaster from version {missing_step}")]
    NoUpcastPath {
        /// The type name.
        event_type: String,
        /// The stored version.
        stored_version: u32,
        /// The code's version.
        current_version: u32,
        /// The version with no registered step.
        missing_step: u32,
    },
    /// An upcasting step refused the payload.
    #[error(
        "upcasting event type {event_type} from schema version {from_version} failed: {reason}"
    )]
    UpcastFailed {
        /// The type name.
        event_type: String,
        /// The version the failing step upcasts from.
        from_version: u32,
        /// What the step said.
        reason: String,
    },
    /// The (upcast) payload does not fit the current event type.
    #[error(transparent)]
    Payload(#[from] CodecError),
}

/// Turns stored events back into current events of type `E`: looks the type up in `E`'s
/// catalogue, upcasts older versions, decodes the payload.
pub struct EventDecoder<E> {
    current_versions: HashMap<&'static str, u32>,
    upcasters: Upcasters,
    _event: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for EventDecoder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventDecoder")
            .field("event_types", &self.current_versions.len())
            .field("upcasters", &self.upcasters)
            .finish()
    }
}

impl<E: Event> Default for EventDecoder<E> {
    fn default() -> Self {
        Self::new(Upcasters::new())
    }
}

impl<E: Event> EventDecoder<E> {
    /// A decoder for `E`'s catalogue with these upcasters.
    pub fn new(upcasters: Upcasters) -> Self {
        let current_versions = E::catalogue()
            .into_iter()
            .map(|schema| (schema.event_type, schema.schema_version))
            .collect();
        Self {
            current_versions,
            upcasters,
            _event: PhantomData,
        }
    }

    /// The current schema version of `event_type`, if the code knows the type.
    pub fn current_version(&self, event_type: &str) -> Option<u32> {
        self.current_versions.get(event_type).copied()
    }

    /// Decodes a stored event, upcasting it first if it is older than the code.
    pub fn decode(
        &self,
        event_type: &str,
        schema_version: u32,
        payload: Value,
    ) -> Result<E, DecodeError> {
        let current_version = self.check_version(event_type, schema_version)?;
        let payload = if schema_version < current_version {
            self.upcasters
                .upcast(event_type, schema_version, current_version, payload)?
        } else {
            payload
        };
        Ok(E::from_payload(event_type, payload)?)
    }

    /// Decodes a stored event whose payload is JSON bytes: directly into `E` when it is at the
    /// current version ([`Event::from_payload_bytes`]), through the upcasters when it is older.
    pub fn decode_bytes(
        &self,
        event_type: &str,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<E, DecodeError> {
        let current_version = self.check_version(event_type, schema_version)?;
        if schema_version == current_version {
            return Ok(E::from_payload_bytes(event_type, payload)?);
        }
        let value = serde_json::from_slice(payload).map_err(|source| CodecError::Decode {
            event_type: event_type.to_owned(),
            source,
        })?;
        let upcast = self
            .upcasters
            .upcast(event_type, schema_version, current_version, value)?;
        Ok(E::from_payload(event_type, upcast)?)
    }

    /// The current version of `event_type` if a payload stored at `schema_version` can be
    /// decoded: the type is known and the version is not newer than the code's.
    fn check_version(&self, event_type: &str, schema_version: u32) -> Result<u32, DecodeError> {
        let current_version =
            self.current_version(event_type)
                .ok_or_else(|| DecodeError::UnknownEventType {
                    event_type: event_type.to_owned(),
                })?;
        if schema_version > current_version {
            return Err(DecodeError::FutureSchemaVersion {
                event_type: event_type.to_owned(),
                stored_version: schema_version,
                current_version,
            });
        }
        Ok(current_version)
    }

    /// Decodes an [`EncodedEvent`].
    pub fn decode_encoded(&self, encoded: EncodedEvent) -> Result<E, DecodeError> {
        self.decode(&encoded.event_type, encoded.schema_version, encoded.payload)
    }
}

#[cfg(test)]
mod tests;
