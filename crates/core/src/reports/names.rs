//! What a person reads instead of ids: models by their catalogue name, customers by the name in
//! the personal-data vault (or as erased), technicians by the name recorded for them, and
//! any id left by a short form that is unique among the ids shown together.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use super::Reports;
use crate::kernel::Vault;
use crate::personal_data::PersonalDataRecord;
use crate::product::Product;
use crate::values::{CustomerId, ModelId, ProductId, TechnicianId};

/// A customer as a report shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "name", rename_all = "snake_case")]
pub enum CustomerName {
    /// The name in the personal-data vault.
    Known(String),
    /// Their personal data was erased (C7): the reports never show it again.
    Erased,
    /// No record in the vault, or the vault could not be read (or none was given): the
    /// reports show the id ([`Names::customer_label`]).
    Unavailable,
}

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(name) => f.write_str(name),
            Self::Erased => f.write_str("(erased)"),
            Self::Unavailable => f.write_str("(no name)"),
        }
    }
}

/// The names of the entities of one report (or one page of reports), looked up once each.
///
/// ```
/// use service_lifecycle_core::kernel::{MemoryStore, Projector};
/// use service_lifecycle_core::reports::{Names, Reports};
/// use service_lifecycle_core::testing::scenario::world_on;
///
/// let store = MemoryStore::new();
/// let world = world_on(store.clone());
/// let reports = Reports::read_as_of(&store, chrono::DateTime::<chrono::Utc>::MAX_UTC)?;
/// let names = Names::new(&reports, None);
/// assert_eq!(names.model(world.model), "WM-7 washing machine");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Names<'a> {
    reports: &'a Reports,
    vault: Option<&'a dyn Vault>,
    customers: RefCell<HashMap<CustomerId, CustomerName>>,
    shown: RefCell<ShownNames>,
}

/// Every name [`Names`] was asked for, by id: what a JSON report carries beside its ids, so a
/// program shows what a person reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShownNames {
    /// Models by id: their catalogue names.
    pub models: BTreeMap<ModelId, String>,
    /// Customers by id.
    pub customers: BTreeMap<CustomerId, CustomerName>,
    /// Technicians by id.
    pub technicians: BTreeMap<TechnicianId, String>,
    /// Units by id: their serial numbers.
    pub units: BTreeMap<ProductId, String>,
}

impl fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Names")
            .field("vault", &self.vault.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Names<'a> {
    /// Names from `reports` (models, technicians, who was erased) and `vault` (customers'
    /// names; without one, customers are shown by id).
    pub fn new(reports: &'a Reports, vault: Option<&'a dyn Vault>) -> Self {
        Self {
            reports,
            vault,
            customers: RefCell::new(HashMap::new()),
            shown: RefCell::new(ShownNames::default()),
        }
    }

    /// Every name asked for so far.
    pub fn shown(&self) -> ShownNames {
        self.shown.borrow().clone()
    }

    /// The model's catalogue name, or its id when the catalogue does not hold it.
    pub fn model(&self, model: ModelId) -> String {
        let name = self
            .reports
            .model_details(model)
            .map_or_else(|| format!("model {model}"), |details| details.name.clone());
        self.shown.borrow_mut().models.insert(model, name.clone());
        name
    }

    /// The technician's name, or their id when none was recorded.
    pub fn technician(&self, technician: TechnicianId) -> String {
        let name = self
            .reports
            .technician_name(technician)
            .map_or_else(|| format!("technician {technician}"), str::to_owned);
        self.shown
            .borrow_mut()
            .technicians
            .insert(technician, name.clone());
        name
    }

    /// The unit's serial number, or its id when the reports never saw it received.
    pub fn unit(&self, unit: ProductId) -> String {
        let serial = Product::stream_id(unit)
            .ok()
            .and_then(|stream| self.reports.products.get(&stream))
            .and_then(|state| state.serial.as_ref())
            .map_or_else(|| format!("unit {unit}"), ToString::to_string);
        self.shown.borrow_mut().units.insert(unit, serial.clone());
        serial
    }

    /// A customer as a table shows them: their name, "(erased)", or their id when the vault
    /// has no name for them.
    pub fn customer_label(&self, customer: CustomerId) -> String {
        match self.customer(customer) {
            CustomerName::Unavailable => format!("customer {customer}"),
            shown => shown.to_string(),
        }
    }

    /// The customer as a report shows them: their name, erased, or unavailable.
    pub fn customer(&self, customer: CustomerId) -> CustomerName {
        let cached = self.customers.borrow().get(&customer).cloned();
        if let Some(name) = cached {
            return name;
        }
        let name = if self.reports.is_erased(customer) {
            CustomerName::Erased
        } else {
            match self
                .vault
                .map(|vault| PersonalDataRecord::of(vault, customer).get())
            {
                Some(Ok(Some(data))) => CustomerName::Known(data.name),
                _ => CustomerName::Unavailable,
            }
        };
        self.customers.borrow_mut().insert(customer, name.clone());
        self.shown
            .borrow_mut()
            .customers
            .insert(customer, name.clone());
        name
    }
}

/// Short forms of ids, unique among the ids shown together: the last hex digits of each (from
/// the random end of a UUIDv7, not its time prefix), as many as it takes for no two to agree,
/// and at least eight; all 32 only for ids that differ in their first digit alone.
///
/// ```
/// use service_lifecycle_core::reports::ShortIds;
///
/// let a = uuid::Uuid::parse_str("01900000-0000-7000-8000-0000000000a1")?;
/// let b = uuid::Uuid::parse_str("01900000-0000-7000-8000-1000000000a1")?;
/// let short = ShortIds::new([a, b]);
/// assert_eq!(short.of(a), "0000000000a1");
/// assert_eq!(short.of(b), "1000000000a1");
/// # Ok::<(), uuid::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortIds {
    /// How many trailing hex digits; `None`: the whole id, hyphenated.
    digits: Option<usize>,
}

impl ShortIds {
    /// The fewest digits (at least 8) that tell every id of `ids` apart.
    pub fn new(ids: impl IntoIterator<Item = uuid::Uuid>) -> Self {
        let ids: BTreeSet<u128> = ids.into_iter().map(|id| id.as_u128()).collect();
        let digits = (8..=32)
            .find(|&digits| {
                let mask = if digits == 32 {
                    u128::MAX
                } else {
                    (1u128 << (4 * digits)) - 1
                };
                let suffixes: BTreeSet<u128> = ids.iter().map(|id| id & mask).collect();
                suffixes.len() == ids.len()
            })
            .unwrap_or(32);
        Self {
            digits: Some(digits),
        }
    }

    /// Ids in full (`0190a5b4-0000-7000-8000-0000000000a1`): for output a program joins on.
    pub fn full() -> Self {
        Self { digits: None }
    }

    /// The short form of `id`.
    pub fn of(&self, id: uuid::Uuid) -> String {
        match self.digits {
            Some(digits) => {
                let text = id.simple().to_string();
                text[text.len() - digits..].to_owned()
            }
            None => id.to_string(),
        }
    }
}
