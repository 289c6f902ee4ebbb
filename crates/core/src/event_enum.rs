//! Each event's stable type name, written once.
//!
//! A stored event is found again by its type name (`product.unit_sold`), never by its Rust name, so
//! the name must be the same in the serde tag, in [`Event::event_type`](crate::kernel::Event) and in
//! the catalogue. [`event_enum!`] declares an aggregate's event enum as a table of
//! `"type.name" => Variant { fields }` rows and derives all three from that one table: the
//! `#[serde(rename)]` of each variant, `event_type`, and a catalogue of every name at schema
//! version 1. The tests in `events.rs` check that the names are unique and that no stored name
//! ever changes.

/// Declares an aggregate's event enum with the stable type name of each variant beside it, and
/// implements [`Event`](crate::kernel::Event) for it (the tagged payload codec, `event_type`, the
/// catalogue at schema version 1). The enum's own attributes (derives, `#[serde(tag, content)]`)
/// and each variant's doc comments are written as usual.
macro_rules! event_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $type_name:literal => $variant:ident $({ $($fields:tt)* })?,
            )*
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[serde(rename = $type_name)]
                $variant $({ $($fields)* })?,
            )*
        }

        impl $name {
            /// The stable type name of every event of this enum, in declaration order.
            const EVENT_TYPES: &'static [&'static str] = &[$($type_name),*];
        }

        impl $crate::kernel::Event for $name {
            $crate::kernel::codec::tagged_payload_codec!();

            fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $type_name,)*
                }
            }

            fn catalogue() -> Vec<$crate::kernel::EventSchema> {
                $crate::kernel::EventSchema::all_at_version_one(Self::EVENT_TYPES)
            }
        }
    };
}

pub(crate) use event_enum;
