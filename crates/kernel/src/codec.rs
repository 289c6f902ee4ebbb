//! For implementers of [`Event`](crate::Event): the payload codec an enum of events shares with
//! every store, and the rules for event type names.
//!
//! An event's payload is JSON whose outer object is tagged by the event's stable type name. An
//! enum of events implements [`Event::write_payload`](crate::Event::write_payload) and
//! [`Event::from_payload_bytes`](crate::Event::from_payload_bytes) with [`write_tagged_payload`]
//! and [`tagged_from_payload_bytes`]; type names are checked once with
//! [`validate_static_event_type`] and stores check names they read with [`validate_event_type`].
//! [`tagged_payload_codec!`] writes both methods in one line.

pub use crate::payload::{
    tagged_from_payload_bytes, validate_event_type, validate_static_event_type,
    write_tagged_payload, MAX_EVENT_TYPE_LEN,
};
/// Inside `impl Event for …` of an adjacently tagged enum: overrides
/// [`write_payload`](crate::Event::write_payload) and
/// [`from_payload_bytes`](crate::Event::from_payload_bytes) with [`write_tagged_payload`] and
/// [`tagged_from_payload_bytes`], the direct codecs that skip `serde_json::Value`.
pub use crate::tagged_payload_codec;
