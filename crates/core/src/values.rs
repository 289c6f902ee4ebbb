//! Values shared by the aggregates: identifiers, business keys, money, warranty terms.
//!
//! Identifiers are UUID newtypes, so a `CustomerId` can never be passed where a `ProductId` is
//! expected. Business keys (serial numbers, part numbers) are validated strings. Money is an integer
//! of minor units with an ISO 4217 currency code, never a float.

use std::fmt;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kernel::derived_uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7).
            #[allow(clippy::new_without_default)] // a fresh id is not a "default" value
            pub fn new() -> Self {
                Self(crate::kernel::CommandId::new().as_uuid())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

uuid_id!(
    /// A product model (a washing machine model, a tractor model).
    ModelId
);
uuid_id!(
    /// A customer.
    CustomerId
);
uuid_id!(
    /// A technician (a member of the service staff).
    TechnicianId
);
uuid_id!(
    /// The seller's employee who owns a partnership account.
    AccountOwnerId
);
uuid_id!(
    /// A service call.
    CallId
);
uuid_id!(
    /// A service contract.
    ContractId
);

/// The id of one unit: derived from its model and serial number, so the same physical unit always
/// has the same id and its stream (P1: a serial number is unique per model).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct ProductId(Uuid);

impl ProductId {
    /// The id of the unit `serial` of `model`. Deterministic and stable across versions of this
    /// library: a UUIDv8 whose bits mix the model id and the serial number.
    pub fn of(model: ModelId, serial: &SerialNumber) -> Self {
        Self(derived_uuid(model.as_uuid(), serial.as_str().as_bytes()))
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProductId({})", self.0)
    }
}

/// The longest serial or part number accepted, in bytes.
pub const MAX_KEY_LEN: usize = 64;

/// The longest free text (descriptions, notes, topics, impressions, reasons) a product or
/// customer command accepts, in characters.
pub const MAX_TEXT_LEN: usize = 2_000;

/// Why a string is not a valid business key (serial number, part number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InvalidKey {
    /// The key is empty (or only spaces).
    #[error("a {kind} must not be empty")]
    Empty {
        /// "serial number" or "part number".
        kind: &'static str,
    },
    /// The key is longer than [`MAX_KEY_LEN`].
    #[error("a {kind} of {len} bytes is longer than the {MAX_KEY_LEN} allowed")]
    TooLong {
        /// "serial number" or "part number".
        kind: &'static str,
        /// Its length.
        len: usize,
    },
    /// The key holds a character other than letters, digits, `-`, `_`, `.` and `/`.
    #[error("{kind} {key:?} holds a character other than letters, digits, '-', '_', '.' and '/'")]
    BadCharacter {
        /// "serial number" or "part number".
        kind: &'static str,
        /// The offending key.
        key: String,
    },
}

fn validate_key(kind: &'static str, key: String) -> Result<String, InvalidKey> {
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(InvalidKey::Empty { kind });
    }
    if key.len() > MAX_KEY_LEN {
        return Err(InvalidKey::TooLong {
            kind,
            len: key.len(),
        });
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(InvalidKey::BadCharacter { kind, key });
    }
    Ok(key)
}

macro_rules! business_key {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schemars(extend("pattern" = "^[A-Za-z0-9._/-]{1,64}$"))]
        pub struct $name(String);

        impl $name {
            /// Validates and trims `key`: 1 to 64 characters of ASCII letters, digits, `-`, `_`,
            /// `.` and `/`.
            pub fn new(key: impl Into<String>) -> Result<Self, InvalidKey> {
                validate_key($kind, key.into()).map(Self)
            }

            /// The key as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidKey;
            fn try_from(key: String) -> Result<Self, Self::Error> {
                Self::new(key)
            }
        }

        impl From<$name> for String {
            fn from(key: $name) -> Self {
                key.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }
    };
}

business_key!(
    /// A unit's serial number, unique per model.
    SerialNumber,
    "serial number"
);
business_key!(
    /// A spare part's number.
    PartNumber,
    "part number"
);

/// An ISO 4217 currency code: three upper-case letters, with the number of digits of its minor
/// unit from the standard's table (EUR 2, JPY 0, BHD 3; see [`Currency::minor_unit_digits`]).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schemars(extend("pattern" = "^[A-Z]{3}$"))]
pub struct Currency([u8; 3]);

/// Why a string is not an ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error(
    "{0:?} is not an ISO 4217 currency code (three upper-case letters, such as EUR, JPY or BHD)"
)]
pub struct InvalidCurrency(pub String);

impl Currency {
    /// Validates a code such as `"EUR"` or `"RUB"`: three upper-case letters. A code the
    /// standard's table does not list (yet) is taken too, so stored amounts never stop
    /// decoding; [`is_listed`](Self::is_listed) says which it is.
    pub fn new(code: &str) -> Result<Self, InvalidCurrency> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(InvalidCurrency(code.to_owned())),
        }
    }

    /// Whether ISO 4217's table (the `iso_currency` crate's, kept current with the standard)
    /// lists the code.
    pub fn is_listed(&self) -> bool {
        iso_currency::Currency::from_code(self.code()).is_some()
    }

    /// The code.
    pub fn code(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// How many decimal digits the currency's minor unit has (ISO 4217's exponent): 2 for EUR
    /// (cents), 0 for JPY, 3 for BHD; 0 for the units the standard gives none (gold, XAU); 2
    /// for a code the table does not list.
    pub fn minor_unit_digits(&self) -> u32 {
        match iso_currency::Currency::from_code(self.code()) {
            Some(listed) => listed.exponent().map_or(0, u32::from),
            None => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::new(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

/// An amount of money: integer minor units (cents, kopecks) of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Money {
    /// The amount in minor units.
    pub minor_units: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `minor_units` of `currency`.
    pub const fn new(minor_units: i64, currency: Currency) -> Self {
        Self {
            minor_units,
            currency,
        }
    }

    /// Zero of `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// The sum, when both are in the same currency and it does not overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.minor_units.checked_add(other.minor_units))
            .flatten()
            .map(|minor_units| Money::new(minor_units, self.currency))
    }
}

impl fmt::Display for Money {
    /// The amount with as many decimals as the currency's minor unit has: `-19.99 EUR`,
    /// `1500 JPY`, `1.250 BHD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let units = self.minor_units.unsigned_abs();
        let digits = self.currency.minor_unit_digits();
        match 10u64.checked_pow(digits) {
            Some(per_unit) if digits > 0 => write!(
                f,
                "{sign}{}.{:0width$} {}",
                units / per_unit,
                units % per_unit,
                self.currency,
                width = digits as usize
            ),
            _ => write!(f, "{sign}{units} {}", self.currency),
        }
    }
}

/// When a unit's warranty starts (P4, P5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarrantyStart {
    /// On the day of the sale.
    OnSale,
    /// On the day of delivery.
    OnDelivery,
    /// On the day of installation.
    OnInstallation,
}

/// A sale's warranty: its length and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WarrantyTerms {
    /// Length in whole months (at least 1).
    pub months: u32,
    /// The event that starts it.
    pub starts: WarrantyStart,
}

impl WarrantyTerms {
    /// The last day (inclusive) of a warranty of these terms starting on `from` (P5): the same
    /// day of the month, the months later, or that month's last day when it has no such day
    /// (12 months from 2026-01-31 end on 2027-01-31, 1 month from 2026-03-31 on 2026-04-30, 1
    /// month from 2026-01-31 on 2026-02-28). `None` when the date would be out of range.
    pub fn until(&self, from: NaiveDate) -> Option<NaiveDate> {
        months_after(from, self.months)
    }
}

/// P5, the civil-code rule for every period counted in months (warranties, contract years,
/// preventive visits, joint reviews, parts guarantees): a period of `months` months from day
/// `from` ends on the same day of the month `months` later, or on that month's last day when it
/// has no such day. 12 months from 2026-01-31 end on 2027-01-31, 1 month from 2026-03-31 on
/// 2026-04-30, 1 month from 2026-01-31 on 2026-02-28. `None` when the day would be out of the
/// calendar's range.
pub fn months_after(from: NaiveDate, months: u32) -> Option<NaiveDate> {
    from.checked_add_months(Months::new(months))
}

/// R3: the last day (inclusive) of a parts guarantee of `years` years from `from`, counted in
/// months by [`months_after`]'s rule (10 years from 2024-02-29 end on 2034-02-28). `None` for a
/// guarantee of no years, or one ending beyond the calendar's range.
pub fn guarantee_end(from: NaiveDate, years: u32) -> Option<NaiveDate> {
    years
        .checked_mul(12)
        .filter(|&months| months > 0)
        .and_then(|months| months_after(from, months))
}

/// Serializes a map whose keys are not strings (an enum with data, say) as a list of pairs, since
/// JSON objects only have string keys. Use with `#[serde(with = "map_as_pairs")]`.
pub mod map_as_pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the map (any map that iterates as key-value pairs) as `[[key, value], ...]`.
    pub fn serialize<'a, M, K, V, S>(map: &'a M, serializer: S) -> Result<S::Ok, S::Error>
    where
        &'a M: IntoIterator<Item = (&'a K, &'a V)>,
        K: Serialize + 'a,
        V: Serialize + 'a,
        S: Serializer,
    {
        serializer.collect_seq(map)
    }

    /// Reads the map back from `[[key, value], ...]`.
    pub fn deserialize<'de, M, K, V, D>(deserializer: D) -> Result<M, D::Error>
    where
        M: FromIterator<(K, V)>,
        K: Deserialize<'de>,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_trimmed_and_validated() {
        assert_eq!(SerialNumber::new(" WM-1001 ").unwrap().as_str(), "WM-1001");
        assert_eq!(
            SerialNumber::new("  "),
            Err(InvalidKey::Empty {
                kind: "serial number"
            })
        );
        assert!(matches!(
            SerialNumber::new("a b"),
            Err(InvalidKey::BadCharacter { .. })
        ));
        assert!(matches!(
            PartNumber::new("x".repeat(65)),
            Err(InvalidKey::TooLong { len: 65, .. })
        ));
        assert!(serde_json::from_str::<PartNumber>("\"\"").is_err());
    }

    #[test]
    fn a_unit_id_is_the_same_for_the_same_model_and_serial_and_differs_otherwise() {
        let model = ModelId::new();
        let serial = SerialNumber::new("SN-1").unwrap();
        let id = ProductId::of(model, &serial);
        assert_eq!(id, ProductId::of(model, &serial));
        assert_ne!(
            id,
            ProductId::of(model, &SerialNumber::new("SN-2").unwrap())
        );
        assert_ne!(id, ProductId::of(ModelId::new(), &serial));
        assert_eq!(id.as_uuid().get_version_num(), 8);
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert_eq!(Currency::new("EUR").unwrap().code(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_adds_only_within_one_currency() {
        let eur = Currency::new("EUR").unwrap();
        let rub = Currency::new("RUB").unwrap();
        assert_eq!(
            Money::new(150, eur).checked_add(Money::new(50, eur)),
            Some(Money::new(200, eur))
        );
        assert_eq!(Money::new(150, eur).checked_add(Money::new(50, rub)), None);
        assert_eq!(
            Money::new(i64::MAX, eur).checked_add(Money::new(1, eur)),
            None
        );
        assert_eq!(Money::new(-1999, eur).to_string(), "-19.99 EUR");
        assert_eq!(Money::new(5, eur).to_string(), "0.05 EUR");
    }

    #[test]
    fn a_parts_guarantee_ends_by_the_month_rule_and_needs_a_year_r3() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            guarantee_end(date(2024, 2, 29), 10),
            Some(date(2034, 2, 28))
        );
        assert_eq!(
            guarantee_end(date(2026, 1, 31), 12),
            Some(date(2038, 1, 31))
        );
        assert_eq!(guarantee_end(date(2026, 1, 31), 0), None);
        assert_eq!(guarantee_end(date(2026, 1, 31), u32::MAX), None);
    }

    #[test]
    fn money_shows_each_currencys_own_minor_unit() {
        let money = |minor, code| Money::new(minor, Currency::new(code).unwrap()).to_string();
        assert_eq!(money(1500, "JPY"), "1500 JPY");
        assert_eq!(money(-1500, "JPY"), "-1500 JPY");
        assert_eq!(money(1250, "BHD"), "1.250 BHD");
        assert_eq!(money(7, "BHD"), "0.007 BHD");
        assert_eq!(money(12_345, "CLF"), "1.2345 CLF");
        assert_eq!(money(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
        assert_eq!(Currency::new("JPY").unwrap().minor_unit_digits(), 0);
        assert_eq!(Currency::new("XAU").unwrap().minor_unit_digits(), 0);
    }

    #[test]
    fn a_currency_is_three_upper_case_letters_and_the_table_says_which_are_listed() {
        for code in ["EUR", "RUB", "USD", "JPY", "BHD", "CHF"] {
            let currency = Currency::new(code).unwrap();
            assert_eq!(currency.to_string(), code);
            assert!(currency.is_listed(), "{code}");
        }
        let unlisted = Currency::new("ZZZ").unwrap();
        assert!(!unlisted.is_listed());
        assert_eq!(Money::new(1234, unlisted).to_string(), "12.34 ZZZ");
        for code in ["eur", "EU", "EURO", "", "ÉUR", "E1R"] {
            assert_eq!(Currency::new(code), Err(InvalidCurrency(code.to_owned())));
        }
    }

    #[test]
    fn a_units_id_never_changes_between_releases() {
        // Every stored unit's stream is named by this id: a change would orphan them all.
        let model = ModelId::from_uuid(Uuid::from_u128(7));
        let serial = SerialNumber::new("WM-1001").unwrap();
        assert_eq!(
            ProductId::of(model, &serial).as_uuid().to_string(),
            "f51c4ed0-98ba-8bd4-8a3a-9da1831ec57a"
        );
    }

    proptest::proptest! {
        /// P5 against a reckoning by hand: the same day of the month `months` later, or that
        /// month's last day when it is shorter; never earlier than the start, and a month's
        /// last day maps to a last day only when the target month is no longer.
        #[test]
        fn a_period_in_months_ends_by_the_civil_code_rule(
            days in 0i64..80_000,
            months in 0u32..400,
        ) {
            use chrono::Datelike;
            let from = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Days::new(days.unsigned_abs());
            let end = months_after(from, months).unwrap();
            let total = from.year() * 12 + from.month0() as i32 + months as i32;
            let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
            let first_of_next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)
            }
            .unwrap();
            let last_day = first_of_next.pred_opt().unwrap().day();
            let expected = NaiveDate::from_ymd_opt(year, month, from.day().min(last_day)).unwrap();
            proptest::prop_assert_eq!(end, expected);
            proptest::prop_assert!(end >= from);
        }
    }

    #[test]
    fn warranty_ends_are_inclusive_and_calendar_correct() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let year = WarrantyTerms {
            months: 12,
            starts: WarrantyStart::OnSale,
        };
        // The examples of P5, and the boundaries around them.
        assert_eq!(year.until(date(2026, 1, 31)), Some(date(2027, 1, 31)));
        assert_eq!(year.until(date(2026, 3, 15)), Some(date(2027, 3, 15)));
        assert_eq!(year.until(date(2028, 2, 29)), Some(date(2029, 2, 28)));
        let month = WarrantyTerms {
            months: 1,
            starts: WarrantyStart::OnSale,
        };
        assert_eq!(month.until(date(2026, 3, 31)), Some(date(2026, 4, 30)));
        assert_eq!(month.until(date(2026, 1, 31)), Some(date(2026, 2, 28)));
        assert_eq!(month.until(date(2028, 1, 31)), Some(date(2028, 2, 29)));
        assert_eq!(month.until(date(2026, 12, 31)), Some(date(2027, 1, 31)));
        assert_eq!(month.until(date(2026, 4, 30)), Some(date(2026, 5, 30)));
        let long = WarrantyTerms {
            months: 24,
            starts: WarrantyStart::OnSale,
        };
        assert_eq!(long.until(date(2026, 8, 31)), Some(date(2028, 8, 31)));
        assert_eq!(
            long.until(NaiveDate::MAX),
            None,
            "out of the calendar is None, not a panic"
        );
    }
}
