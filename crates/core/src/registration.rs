//! A customer's registration with their personal data (C1, §8 of `docs/domain.md`): the one
//! value [`ServiceLifecycle::register_customer`](crate::ServiceLifecycle::register_customer)
//! takes, built with defaults for all but who, what and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::customer::{CustomerCommand, OutreachTerms, RelationshipLevel, TargetGroup};
use super::personal_data::PersonalData;
use super::values::{AccountOwnerId, CustomerId};

/// A customer to register: their id, personal data and the time, and, defaulted, their target
/// group (households), relationship level (basic), account owner (none; a partnership needs
/// one) and outreach terms.
///
/// ```
/// use service_lifecycle_core::{
///     CustomerId, PersonalData, Registration, RelationshipLevel, TargetGroup,
/// };
/// # let at = chrono::Utc::now();
/// let registration = Registration::new(
///     CustomerId::new(),
///     PersonalData::new("Anna Petrova", "+7 900 000 00 00"),
///     at,
/// )
/// .target_group(TargetGroup::SmallBusiness)
/// .level(RelationshipLevel::Accountable);
/// assert_eq!(registration.level, RelationshipLevel::Accountable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Registration {
    /// The customer.
    pub customer: CustomerId,
    /// Their name and contact, kept in the personal-data vault, never in an event.
    pub personal_data: PersonalData,
    /// The segment (households by default).
    #[serde(default = "household")]
    pub target_group: TargetGroup,
    /// The relationship level promised (basic by default).
    #[serde(default)]
    pub level: RelationshipLevel,
    /// The account owner; a partnership needs one (C1).
    #[serde(default)]
    pub account_owner: Option<AccountOwnerId>,
    /// The windows and periods of the level duties (the defaults of [`OutreachTerms`]).
    #[serde(default)]
    pub terms: OutreachTerms,
    /// When.
    pub at: DateTime<Utc>,
}

fn household() -> TargetGroup {
    TargetGroup::Household
}

impl Registration {
    /// A household at the basic level, with no account owner and the default outreach terms.
    pub fn new(customer: CustomerId, personal_data: PersonalData, at: DateTime<Utc>) -> Self {
        Self {
            customer,
            personal_data,
            target_group: household(),
            level: RelationshipLevel::default(),
            account_owner: None,
            terms: OutreachTerms::default(),
            at,
        }
    }

    /// In `target_group`.
    pub fn target_group(mut self, target_group: TargetGroup) -> Self {
        self.target_group = target_group;
        self
    }

    /// At `level`.
    pub fn level(mut self, level: RelationshipLevel) -> Self {
        self.level = level;
        self
    }

    /// With `owner` as the account owner.
    pub fn account_owner(mut self, owner: AccountOwnerId) -> Self {
        self.account_owner = Some(owner);
        self
    }

    /// With these outreach terms.
    pub fn terms(mut self, terms: OutreachTerms) -> Self {
        self.terms = terms;
        self
    }

    /// The Customer command it records (without the personal data).
    pub(crate) fn command(&self) -> CustomerCommand {
        CustomerCommand::Register {
            customer: self.customer,
            target_group: self.target_group.clone(),
            level: self.level,
            account_owner: self.account_owner,
            terms: self.terms,
            at: self.at,
        }
    }
}
