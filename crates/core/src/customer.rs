//! The Customer aggregate (§4 of `docs/domain.md`): events, state, fold (`apply`), and decide as
//! a table of one function per command. What it models is documented on [`Customer`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::values::{months_after, AccountOwnerId, CustomerId, ModelId, ProductId};
use crate::checks::{self, BadLength};
use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};
use crate::values::MAX_TEXT_LEN;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// The segment a customer belongs to; it selects the service plan.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TargetGroup {
    /// Private households.
    Household,
    /// Small businesses.
    SmallBusiness,
    /// Enterprises.
    Enterprise,
    /// Public-sector bodies.
    PublicSector,
    /// A group the seller names.
    Named(String),
}

/// Kotler's relationship levels, in order of duties.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipLevel {
    /// Sells and does not follow up.
    #[default]
    Basic,
    /// Logs every inquiry and complaint as an obligation until answered.
    Reactive,
    /// Plus a follow-up call per purchase.
    Accountable,
    /// Plus periodic outreach.
    Proactive,
    /// Plus a periodic joint review with a named account owner.
    Partnership,
}

impl RelationshipLevel {
    /// Every level, from the fewest duties to the most.
    pub const ALL: [Self; 5] = [
        Self::Basic,
        Self::Reactive,
        Self::Accountable,
        Self::Proactive,
        Self::Partnership,
    ];
}

/// The windows and periods of the level duties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutreachTerms {
    /// Days after a purchase within which the follow-up call is due (Accountable).
    pub accountable_window_days: u32,
    /// Days between outreaches (Proactive).
    pub proactive_period_days: u32,
    /// Months between joint reviews (Partnership).
    pub partnership_period_months: u32,
}

impl Default for OutreachTerms {
    /// The chapter's defaults: a week, 90 days, a quarter.
    fn default() -> Self {
        Self {
            accountable_window_days: 7,
            proactive_period_days: 90,
            partnership_period_months: 3,
        }
    }
}

/// What an obligation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObligationKind {
    /// Answer an inquiry or a complaint (Reactive and up).
    AnswerInquiry {
        /// The inquiry's number.
        inquiry: u32,
    },
    /// Call after a purchase for impressions, complaints and suggestions (Accountable and up).
    PurchaseFollowUp {
        /// The unit bought.
        product: ProductId,
    },
    /// Reach out with suggestions, modernization, contracts or new products (Proactive and up).
    Outreach,
    /// Offer a post-warranty contract before a unit's warranty ends (Proactive and up, by policy).
    PostWarrantyOffer {
        /// The unit.
        product: ProductId,
    },
    /// Hold the periodic joint review (Partnership).
    JointReview,
}

/// An inquiry or a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InquiryKind {
    /// A question.
    Question,
    /// A complaint.
    Complaint,
}

/// What was offered instead of a missing model (C5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Substitute {
    /// Another model.
    Model(ModelId),
    /// A specific unit ready for sale.
    Unit(ProductId),
}

event_enum! {
    /// What happened to a customer.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum CustomerEvent {
        /// C1: registered (name and contact are kept outside the events).
        "customer.registered" => Registered {
            /// The customer.
            customer: CustomerId,
            /// The segment.
            target_group: TargetGroup,
            /// The relationship level.
            level: RelationshipLevel,
            /// The duty windows.
            terms: OutreachTerms,
            /// When.
            at: DateTime<Utc>,
        },
        /// C2: the relationship level changed.
        "customer.level_changed" => LevelChanged {
            /// The previous level.
            from: RelationshipLevel,
            /// The new level.
            to: RelationshipLevel,
            /// Why.
            reason: String,
            /// The account owner (Partnership).
            account_owner: Option<AccountOwnerId>,
            /// When.
            at: DateTime<Utc>,
        },
        /// C3: a purchase was recorded.
        "customer.purchase_recorded" => PurchaseRecorded {
            /// The unit bought.
            product: ProductId,
            /// When.
            at: DateTime<Utc>,
        },
        /// A duty fell to the seller: an obligation with its due date (inclusive), if it has one.
        "customer.obligation_opened" => ObligationOpened {
            /// The obligation's number.
            obligation: u32,
            /// What for.
            kind: ObligationKind,
            /// The last day to fulfil it; `None` when it is open until done.
            due: Option<NaiveDate>,
            /// When.
            at: DateTime<Utc>,
        },
        /// An obligation was fulfilled.
        "customer.obligation_fulfilled" => ObligationFulfilled {
            /// The obligation's number.
            obligation: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// A periodic obligation the new level no longer requires was withdrawn.
        "customer.obligation_withdrawn" => ObligationWithdrawn {
            /// The obligation's number.
            obligation: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// C4: an inquiry or complaint was logged.
        "customer.inquiry_logged" => InquiryLogged {
            /// The inquiry's number.
            inquiry: u32,
            /// Question or complaint.
            kind: InquiryKind,
            /// What it is about (never names or contact details).
            topic: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// C4: an inquiry was answered.
        "customer.inquiry_answered" => InquiryAnswered {
            /// The inquiry's number.
            inquiry: u32,
            /// When.
            at: DateTime<Utc>,
        },
        /// C4: a consultation was given.
        "customer.consultation_recorded" => ConsultationRecorded {
            /// Its topic.
            topic: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// C4: a model was demonstrated.
        "customer.demonstration_recorded" => DemonstrationRecorded {
            /// The model.
            model: ModelId,
            /// When.
            at: DateTime<Utc>,
        },
        /// C5: a substitute was offered for a model that had no unit ready for sale.
        "customer.substitute_offered" => SubstituteOffered {
            /// The model asked for.
            requested: ModelId,
            /// What was offered.
            offered: Substitute,
            /// Whether the customer accepted.
            accepted: bool,
            /// When.
            at: DateTime<Utc>,
        },
        /// C5: a related product was offered.
        "customer.related_product_offered" => RelatedProductOffered {
            /// The model offered.
            model: ModelId,
            /// Whether the customer accepted.
            accepted: bool,
            /// When.
            at: DateTime<Utc>,
        },
        /// C6: a follow-up call was made.
        "customer.follow_up_completed" => FollowUpCompleted {
            /// The obligation it fulfils.
            obligation: u32,
            /// The customer's impressions.
            impressions: String,
            /// Complaints raised (each becomes an inquiry).
            complaints: String,
            /// Suggestions.
            suggestions: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// Proactive outreach was made.
        "customer.outreach_made" => OutreachMade {
            /// What was offered or suggested.
            topic: String,
            /// When.
            at: DateTime<Utc>,
        },
        /// The partnership's joint review was held.
        "customer.joint_review_held" => JointReviewHeld {
            /// When.
            at: DateTime<Utc>,
        },
        /// C7: the customer's personal data was erased (the data itself was never in an event).
        "customer.personal_data_erased" => PersonalDataErased {
            /// When.
            at: DateTime<Utc>,
        },
    }
}

impl CustomerEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Registered { at, .. }
            | Self::LevelChanged { at, .. }
            | Self::PurchaseRecorded { at, .. }
            | Self::ObligationOpened { at, .. }
            | Self::ObligationFulfilled { at, .. }
            | Self::ObligationWithdrawn { at, .. }
            | Self::InquiryLogged { at, .. }
            | Self::InquiryAnswered { at, .. }
            | Self::ConsultationRecorded { at, .. }
            | Self::DemonstrationRecorded { at, .. }
            | Self::SubstituteOffered { at, .. }
            | Self::RelatedProductOffered { at, .. }
            | Self::FollowUpCompleted { at, .. }
            | Self::OutreachMade { at, .. }
            | Self::JointReviewHeld { at, .. }
            | Self::PersonalDataErased { at, .. } => Some(*at),
        }
    }
}
// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Where an obligation stands on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObligationStatus {
    /// Not yet fulfilled, and not past its due date.
    Open,
    /// Fulfilled.
    Done,
    /// Not fulfilled by its due date (derived from the date).
    Missed,
    /// Withdrawn because the level no longer requires it.
    Withdrawn,
}

/// One duty toward the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Obligation {
    /// What for.
    pub kind: ObligationKind,
    /// The level that imposed it.
    pub level: RelationshipLevel,
    /// The day it was opened.
    pub opened_on: NaiveDate,
    /// The last day to fulfil it (inclusive), if it has one.
    pub due: Option<NaiveDate>,
    /// The day it was fulfilled.
    pub fulfilled_on: Option<NaiveDate>,
    /// The day it was withdrawn.
    pub withdrawn_on: Option<NaiveDate>,
}

impl Obligation {
    /// Where the obligation stands on `date`: fulfilled, withdrawn, missed (open past its due
    /// day, as of that date), or open.
    pub fn status(&self, date: NaiveDate) -> ObligationStatus {
        match (self.fulfilled_on, self.withdrawn_on) {
            (Some(fulfilled), _) if fulfilled <= date => ObligationStatus::Done,
            (_, Some(withdrawn)) if withdrawn <= date => ObligationStatus::Withdrawn,
            _ if self.due.is_some_and(|due| date > due) => ObligationStatus::Missed,
            _ => ObligationStatus::Open,
        }
    }

    fn is_open(&self) -> bool {
        self.fulfilled_on.is_none() && self.withdrawn_on.is_none()
    }
}

/// An inquiry or complaint and whether it was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Inquiry {
    /// Question or complaint.
    pub kind: InquiryKind,
    /// Whether it was answered.
    pub answered: bool,
}

/// The folded state of one customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerState {
    /// The customer, once registered.
    pub customer: Option<CustomerId>,
    /// The segment.
    pub target_group: Option<TargetGroup>,
    /// The current relationship level.
    pub level: RelationshipLevel,
    /// The account owner (Partnership).
    pub account_owner: Option<AccountOwnerId>,
    /// The duty windows.
    pub terms: OutreachTerms,
    /// Units bought.
    pub purchases: BTreeSet<ProductId>,
    /// Every obligation, by number.
    pub obligations: BTreeMap<u32, Obligation>,
    /// Every inquiry and complaint, by number.
    pub inquiries: BTreeMap<u32, Inquiry>,
    /// Consultations given.
    pub consultations: u32,
    /// Demonstrations given.
    pub demonstrations: u32,
    /// Substitutes offered, and how many were accepted.
    pub substitutes_offered: (u32, u32),
    /// Related products offered, and how many were accepted.
    pub related_offered: (u32, u32),
    /// Whether the personal data was erased.
    pub personal_data_erased: bool,
}

impl CustomerState {
    /// The status of obligation `obligation` on `date`, if it exists.
    pub fn obligation_status(&self, obligation: u32, date: NaiveDate) -> Option<ObligationStatus> {
        self.obligations
            .get(&obligation)
            .map(|found| found.status(date))
    }

    /// The open obligation of a kind, if there is one.
    fn open_obligation(&self, kind: ObligationKind) -> Option<u32> {
        self.obligations
            .iter()
            .find(|(_, obligation)| obligation.kind == kind && obligation.is_open())
            .map(|(&number, _)| number)
    }

    fn next_obligation(&self) -> u32 {
        self.obligations
            .keys()
            .next_back()
            .map_or(1, |last| last + 1)
    }

    fn next_inquiry(&self) -> u32 {
        self.inquiries.keys().next_back().map_or(1, |last| last + 1)
    }
}

fn apply(state: &mut CustomerState, event: &CustomerEvent) {
    match event {
        CustomerEvent::Registered {
            customer,
            target_group,
            level,
            terms,
            ..
        } => {
            state.customer = Some(*customer);
            state.target_group = Some(target_group.clone());
            state.level = *level;
            state.terms = *terms;
        }
        CustomerEvent::LevelChanged {
            to, account_owner, ..
        } => {
            state.level = *to;
            state.account_owner = *account_owner;
        }
        CustomerEvent::PurchaseRecorded { product, .. } => {
            state.purchases.insert(*product);
        }
        CustomerEvent::ObligationOpened {
            obligation,
            kind,
            due,
            at,
        } => {
            state.obligations.insert(
                *obligation,
                Obligation {
                    kind: *kind,
                    level: state.level,
                    opened_on: at.date_naive(),
                    due: *due,
                    fulfilled_on: None,
                    withdrawn_on: None,
                },
            );
        }
        CustomerEvent::ObligationFulfilled { obligation, at } => {
            if let Some(obligation) = state.obligations.get_mut(obligation) {
                obligation.fulfilled_on = Some(at.date_naive());
            }
        }
        CustomerEvent::ObligationWithdrawn { obligation, at } => {
            if let Some(obligation) = state.obligations.get_mut(obligation) {
                obligation.withdrawn_on = Some(at.date_naive());
            }
        }
        CustomerEvent::InquiryLogged { inquiry, kind, .. } => {
            state.inquiries.insert(
                *inquiry,
                Inquiry {
                    kind: *kind,
                    answered: false,
                },
            );
        }
        CustomerEvent::InquiryAnswered { inquiry, .. } => {
            if let Some(inquiry) = state.inquiries.get_mut(inquiry) {
                inquiry.answered = true;
            }
        }
        CustomerEvent::ConsultationRecorded { .. } => state.consultations += 1,
        CustomerEvent::DemonstrationRecorded { .. } => state.demonstrations += 1,
        CustomerEvent::SubstituteOffered { accepted, .. } => {
            state.substitutes_offered.0 += 1;
            state.substitutes_offered.1 += u32::from(*accepted);
        }
        CustomerEvent::RelatedProductOffered { accepted, .. } => {
            state.related_offered.0 += 1;
            state.related_offered.1 += u32::from(*accepted);
        }
        CustomerEvent::FollowUpCompleted { .. }
        | CustomerEvent::OutreachMade { .. }
        | CustomerEvent::JointReviewHeld { .. } => {}
        CustomerEvent::PersonalDataErased { .. } => state.personal_data_erased = true,
    }
}

// ---------------------------------------------------------------------------------------------
// Decide
// ---------------------------------------------------------------------------------------------

/// What can be asked about a customer. Every command carries its business time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CustomerCommand {
    /// C1: register a customer (their name and contact go to the vault).
    Register {
        /// The customer.
        customer: CustomerId,
        /// The segment.
        target_group: TargetGroup,
        /// The relationship level (Basic unless promised otherwise).
        level: RelationshipLevel,
        /// The account owner, required for Partnership.
        account_owner: Option<AccountOwnerId>,
        /// The duty windows.
        terms: OutreachTerms,
        /// When.
        at: DateTime<Utc>,
    },
    /// C2: change the relationship level.
    ChangeLevel {
        /// The customer.
        customer: CustomerId,
        /// The new level.
        level: RelationshipLevel,
        /// Why.
        reason: String,
        /// The account owner, required for Partnership.
        account_owner: Option<AccountOwnerId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// C3: record a purchase (issued by the sale policy; idempotent per unit).
    RecordPurchase {
        /// The customer.
        customer: CustomerId,
        /// The unit bought.
        product: ProductId,
        /// When.
        at: DateTime<Utc>,
    },
    /// C4: log an inquiry.
    LogInquiry {
        /// The customer.
        customer: CustomerId,
        /// What it is about.
        topic: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// C4: log a complaint.
    LogComplaint {
        /// The customer.
        customer: CustomerId,
        /// What it is about.
        topic: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// C4: answer an inquiry or complaint.
    AnswerInquiry {
        /// The customer.
        customer: CustomerId,
        /// The inquiry's number.
        inquiry: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// C4: record a consultation.
    RecordConsultation {
        /// The customer.
        customer: CustomerId,
        /// Its topic.
        topic: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// C4: record a demonstration of a model.
    RecordDemonstration {
        /// The customer.
        customer: CustomerId,
        /// The model.
        model: ModelId,
        /// When.
        at: DateTime<Utc>,
    },
    /// C5: offer a substitute for a requested model that has no unit ready for sale (the
    /// application checks that against the pre-sale board before it issues this).
    OfferSubstitute {
        /// The customer.
        customer: CustomerId,
        /// The model asked for.
        requested: ModelId,
        /// What is offered.
        offered: Substitute,
        /// Whether the customer accepted.
        accepted: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// C5: offer a related product.
    OfferRelatedProduct {
        /// The customer.
        customer: CustomerId,
        /// The model offered.
        model: ModelId,
        /// Whether the customer accepted.
        accepted: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// C6: complete a follow-up obligation (after a purchase, or a post-warranty offer).
    CompleteFollowUp {
        /// The customer.
        customer: CustomerId,
        /// The obligation's number.
        obligation: u32,
        /// The customer's impressions.
        impressions: String,
        /// Complaints raised (a non-empty text becomes an open complaint).
        complaints: String,
        /// Suggestions.
        suggestions: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Make proactive outreach (fulfils the open outreach obligation and schedules the next).
    MakeOutreach {
        /// The customer.
        customer: CustomerId,
        /// What was offered or suggested.
        topic: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Hold the partnership's joint review (fulfils the open one and schedules the next).
    HoldJointReview {
        /// The customer.
        customer: CustomerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Policy §7: a unit's warranty ends soon; a proactive or partnership customer gets an
    /// obligation to be offered a post-warranty contract by `due`. Idempotent per unit; nothing
    /// for lower levels.
    ScheduleWarrantyOutreach {
        /// The customer.
        customer: CustomerId,
        /// The unit whose warranty ends.
        product: ProductId,
        /// The last day to make the offer.
        due: NaiveDate,
        /// When.
        at: DateTime<Utc>,
    },
    /// C7: the customer's personal data is erased (the vault deletes it).
    EraseData {
        /// The customer.
        customer: CustomerId,
        /// When.
        at: DateTime<Utc>,
    },
}

impl CustomerCommand {
    /// The customer the command is about.
    pub fn customer(&self) -> CustomerId {
        match self {
            Self::Register { customer, .. }
            | Self::ChangeLevel { customer, .. }
            | Self::RecordPurchase { customer, .. }
            | Self::LogInquiry { customer, .. }
            | Self::LogComplaint { customer, .. }
            | Self::AnswerInquiry { customer, .. }
            | Self::RecordConsultation { customer, .. }
            | Self::RecordDemonstration { customer, .. }
            | Self::OfferSubstitute { customer, .. }
            | Self::OfferRelatedProduct { customer, .. }
            | Self::CompleteFollowUp { customer, .. }
            | Self::MakeOutreach { customer, .. }
            | Self::HoldJointReview { customer, .. }
            | Self::ScheduleWarrantyOutreach { customer, .. }
            | Self::EraseData { customer, .. } => *customer,
        }
    }
}

/// Why a customer refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CustomerError {
    /// C1: registered already.
    #[error("customer {customer} is registered already: a customer is registered once (C1)")]
    AlreadyRegistered {
        /// The customer.
        customer: CustomerId,
    },
    /// Never registered.
    #[error("customer {customer} was never registered")]
    NotRegistered {
        /// The customer.
        customer: CustomerId,
    },
    /// The command names another customer than the stream holds.
    #[error("the command is for customer {command}, but this stream holds customer {stream}")]
    WrongCustomer {
        /// The customer the command names.
        command: CustomerId,
        /// The customer of the stream.
        stream: CustomerId,
    },
    /// A text is empty where it must not be, or too long.
    #[error("customer {customer}: {field} must hold {min} to {MAX_TEXT_LEN} characters")]
    BadText {
        /// The customer.
        customer: CustomerId,
        /// Which text.
        field: &'static str,
        /// The fewest characters allowed.
        min: usize,
    },
    /// C2: a partnership needs a named account owner.
    #[error("a partnership with customer {customer} needs a named account owner: a partnership is held with a named account owner (C2)")]
    PartnershipWithoutAccountOwner {
        /// The customer.
        customer: CustomerId,
    },
    /// C1: duty windows must be at least a day (a month for reviews).
    #[error("the duty windows of customer {customer} are too short: follow-up and outreach windows last at least a day, review periods at least a month (C1)")]
    EmptyWindow {
        /// The customer.
        customer: CustomerId,
    },
    /// C4: no inquiry of that number.
    #[error("customer {customer} has no inquiry number {inquiry}: only a logged inquiry can be answered (C4)")]
    UnknownInquiry {
        /// The customer.
        customer: CustomerId,
        /// The number given.
        inquiry: u32,
    },
    /// C4: the inquiry was answered already.
    #[error("inquiry {inquiry} of customer {customer} was answered already: an inquiry is answered once (C4)")]
    InquiryAlreadyAnswered {
        /// The customer.
        customer: CustomerId,
        /// The inquiry.
        inquiry: u32,
    },
    /// C5: the substitute offered is the model asked for.
    #[error("model {model} cannot substitute for itself (customer {customer}): a substitute is another model or unit (C5)")]
    SubstituteIsTheRequestedModel {
        /// The customer.
        customer: CustomerId,
        /// The model.
        model: ModelId,
    },
    /// C6: no obligation of that number.
    #[error("customer {customer} has no obligation number {obligation}: only an open obligation can be completed (C6)")]
    UnknownObligation {
        /// The customer.
        customer: CustomerId,
        /// The number given.
        obligation: u32,
    },
    /// C6: the obligation is fulfilled or withdrawn already.
    #[error("obligation {obligation} of customer {customer} is closed already: only an open obligation can be completed (C6)")]
    ObligationClosed {
        /// The customer.
        customer: CustomerId,
        /// The obligation.
        obligation: u32,
    },
    /// C6: the obligation is not a follow-up.
    #[error("obligation {obligation} of customer {customer} is {kind:?}, not a follow-up: a follow-up call completes a follow-up obligation (C6)")]
    NotAFollowUp {
        /// The customer.
        customer: CustomerId,
        /// The obligation.
        obligation: u32,
        /// What it is.
        kind: ObligationKind,
    },
    /// Joint reviews are held with partners only.
    #[error(
        "customer {customer} is at level {level:?}: joint reviews are held only with partners (C2)"
    )]
    NotAPartner {
        /// The customer.
        customer: CustomerId,
        /// The current level.
        level: RelationshipLevel,
    },
}

/// Customer: the buyer, the service plan of their target group, and the relationship level the
/// seller promised them, with the duties each level implies (§4 of `docs/domain.md`, rules C1-C7).
///
/// Kotler's five relationship levels accumulate duties up the ladder:
///
/// | level | duty |
/// |---|---|
/// | Basic | none: sells and does not follow up |
/// | Reactive | every inquiry or complaint is an open obligation until answered |
/// | Accountable | plus one follow-up call per purchase, due within the accountable window |
/// | Proactive | plus outreach at least every proactive period |
/// | Partnership | plus a joint review every partnership period, with a named account owner |
///
/// Duties are tracked as obligations with due dates. Whether one was missed is a function of a
/// date ([`CustomerState::obligation_status`]), never a timer. Changing the level changes the
/// duties from then on: periodic obligations the new level does not require are withdrawn; past
/// obligations stay in history.
///
/// The customer's name and contact details are personal data: they never enter these events (they are
/// kept in a vault, see [`PersonalData`](crate::PersonalData)); [`CustomerEvent::PersonalDataErased`] records an erasure without them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Customer;

impl Customer {
    /// The stream of a customer: `customer-{id}`.
    pub fn stream_id(customer: CustomerId) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("customer", customer)
    }

    /// The customer whose stream `stream` is (the inverse of [`stream_id`](Self::stream_id)).
    pub fn of_stream(stream: &StreamId) -> Option<CustomerId> {
        let id = stream.as_str().strip_prefix("customer-")?;
        uuid::Uuid::parse_str(id).ok().map(CustomerId::from_uuid)
    }
}

/// Kotler's advice on the level to promise, by the number of customers and the margin. Offered
/// as a recommendation only: nothing enforces it.
pub fn recommended_level(customers: CustomerBase, margin: Margin) -> RelationshipLevel {
    use RelationshipLevel::{Accountable, Basic, Partnership, Proactive, Reactive};
    match (customers, margin) {
        (CustomerBase::Many, Margin::High) => Accountable,
        (CustomerBase::Many, Margin::Medium) => Reactive,
        (CustomerBase::Many, Margin::Low) => Basic,
        (CustomerBase::Medium, Margin::High) => Proactive,
        (CustomerBase::Medium, Margin::Medium) => Accountable,
        (CustomerBase::Medium, Margin::Low) => Reactive,
        (CustomerBase::Few, Margin::High) => Partnership,
        (CustomerBase::Few, Margin::Medium) => Proactive,
        (CustomerBase::Few, Margin::Low) => Accountable,
    }
}

/// How many customers a seller has, for [`recommended_level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CustomerBase {
    /// Many customers or distributors.
    Many,
    /// A medium number.
    Medium,
    /// Few.
    Few,
}

/// The margin a seller earns, for [`recommended_level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Margin {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// `text` trimmed, if it then holds `min` to [`MAX_TEXT_LEN`] characters.
fn check_text(
    customer: CustomerId,
    field: &'static str,
    text: &str,
    min: usize,
) -> Result<String, CustomerError> {
    checks::trimmed(text, min, MAX_TEXT_LEN)
        .map(str::to_owned)
        .map_err(|BadLength| CustomerError::BadText {
            customer,
            field,
            min,
        })
}

/// Collects a decision's events, numbering the obligations and inquiries it opens.
struct Decision<'a> {
    state: &'a CustomerState,
    events: Vec<CustomerEvent>,
    next_obligation: u32,
    next_inquiry: u32,
}

impl<'a> Decision<'a> {
    fn new(state: &'a CustomerState) -> Self {
        Self {
            state,
            events: Vec::new(),
            next_obligation: state.next_obligation(),
            next_inquiry: state.next_inquiry(),
        }
    }

    fn push(&mut self, event: CustomerEvent) {
        self.events.push(event);
    }

    fn open(&mut self, kind: ObligationKind, due: Option<NaiveDate>, at: DateTime<Utc>) {
        let obligation = self.next_obligation;
        self.next_obligation += 1;
        self.events.push(CustomerEvent::ObligationOpened {
            obligation,
            kind,
            due,
            at,
        });
    }

    fn fulfil(&mut self, obligation: u32, at: DateTime<Utc>) {
        self.events
            .push(CustomerEvent::ObligationFulfilled { obligation, at });
    }

    /// Logs an inquiry; at Reactive and up it is an obligation until answered.
    fn log_inquiry(
        &mut self,
        level: RelationshipLevel,
        kind: InquiryKind,
        topic: String,
        at: DateTime<Utc>,
    ) {
        let inquiry = self.next_inquiry;
        self.next_inquiry += 1;
        self.events.push(CustomerEvent::InquiryLogged {
            inquiry,
            kind,
            topic,
            at,
        });
        if level >= RelationshipLevel::Reactive {
            self.open(ObligationKind::AnswerInquiry { inquiry }, None, at);
        }
    }

    /// Opens the periodic obligations `level` requires and withdraws those it does not.
    fn align_periodic_duties(
        &mut self,
        level: RelationshipLevel,
        terms: &OutreachTerms,
        at: DateTime<Utc>,
    ) {
        let periodic = [
            (ObligationKind::Outreach, RelationshipLevel::Proactive),
            (ObligationKind::JointReview, RelationshipLevel::Partnership),
        ];
        for (kind, needs) in periodic {
            match (self.state.open_obligation(kind), level >= needs) {
                (Some(open), false) => {
                    self.events.push(CustomerEvent::ObligationWithdrawn {
                        obligation: open,
                        at,
                    });
                }
                (None, true) => self.open(kind, next_due(kind, terms, at), at),
                _ => {}
            }
        }
    }
}

/// The due day of the next periodic obligation of `kind` opened at `at`.
fn next_due(kind: ObligationKind, terms: &OutreachTerms, at: DateTime<Utc>) -> Option<NaiveDate> {
    let day = at.date_naive();
    match kind {
        ObligationKind::Outreach => {
            day.checked_add_days(Days::new(u64::from(terms.proactive_period_days)))
        }
        ObligationKind::JointReview => months_after(day, terms.partnership_period_months),
        ObligationKind::PurchaseFollowUp { .. } => {
            day.checked_add_days(Days::new(u64::from(terms.accountable_window_days)))
        }
        ObligationKind::AnswerInquiry { .. } | ObligationKind::PostWarrantyOffer { .. } => None,
    }
}

fn check_level(
    customer: CustomerId,
    level: RelationshipLevel,
    account_owner: Option<AccountOwnerId>,
) -> Result<Option<AccountOwnerId>, CustomerError> {
    match (level, account_owner) {
        (RelationshipLevel::Partnership, None) => {
            Err(CustomerError::PartnershipWithoutAccountOwner { customer })
        }
        (RelationshipLevel::Partnership, owner) => Ok(owner),
        _ => Ok(None),
    }
}

impl Decider for Customer {
    type State = CustomerState;
    type Command = CustomerCommand;
    type Event = CustomerEvent;
    type Error = CustomerError;

    fn state_size(state: &CustomerState) -> usize {
        use crate::state_size::map;
        std::mem::size_of::<CustomerState>()
            + map::<ProductId, ()>(state.purchases.len())
            + map::<u32, Obligation>(state.obligations.len())
            + map::<u32, Inquiry>(state.inquiries.len())
    }

    fn apply(state: &mut CustomerState, event: &CustomerEvent) {
        apply(state, event);
    }

    fn decide(
        state: &CustomerState,
        command: &CustomerCommand,
    ) -> Result<Vec<CustomerEvent>, CustomerError> {
        let customer = command.customer();
        if !matches!(command, CustomerCommand::Register { .. }) {
            registered(state, customer)?;
        }
        match command {
            CustomerCommand::Register {
                target_group,
                level,
                account_owner,
                terms,
                at,
                ..
            } => register(
                state,
                customer,
                target_group,
                level,
                account_owner,
                terms,
                at,
            ),
            CustomerCommand::ChangeLevel {
                level,
                reason,
                account_owner,
                at,
                ..
            } => change_level(state, customer, level, reason, account_owner, at),
            CustomerCommand::RecordPurchase { product, at, .. } => {
                record_purchase(state, product, at)
            }
            CustomerCommand::LogInquiry { topic, at, .. } => {
                log_inquiry(state, customer, topic, at)
            }
            CustomerCommand::LogComplaint { topic, at, .. } => {
                log_complaint(state, customer, topic, at)
            }
            CustomerCommand::AnswerInquiry { inquiry, at, .. } => {
                answer_inquiry(state, customer, inquiry, at)
            }
            CustomerCommand::RecordConsultation { topic, at, .. } => {
                record_consultation(customer, topic, at)
            }
            CustomerCommand::RecordDemonstration { model, at, .. } => {
                record_demonstration(model, at)
            }
            CustomerCommand::OfferSubstitute {
                requested,
                offered,
                accepted,
                at,
                ..
            } => offer_substitute(customer, requested, offered, accepted, at),
            CustomerCommand::OfferRelatedProduct {
                model,
                accepted,
                at,
                ..
            } => offer_related_product(model, accepted, at),
            CustomerCommand::CompleteFollowUp {
                obligation,
                impressions,
                complaints,
                suggestions,
                at,
                ..
            } => complete_follow_up(
                state,
                customer,
                obligation,
                impressions,
                complaints,
                suggestions,
                at,
            ),
            CustomerCommand::MakeOutreach { topic, at, .. } => {
                make_outreach(state, customer, topic, at)
            }
            CustomerCommand::HoldJointReview { at, .. } => hold_joint_review(state, customer, at),
            CustomerCommand::ScheduleWarrantyOutreach {
                product, due, at, ..
            } => schedule_warranty_outreach(state, product, due, at),
            CustomerCommand::EraseData { at, .. } => erase_data(state, at),
        }
    }
}

/// C1: registers a customer once, with duty windows none of which is empty, a target group's
/// name if it has one, and an account owner for a partnership; a level above Basic is recorded as
/// a level change, with the periodic duties it implies (C2).
fn register(
    state: &CustomerState,
    customer: CustomerId,
    target_group: &TargetGroup,
    level: &RelationshipLevel,
    account_owner: &Option<AccountOwnerId>,
    terms: &OutreachTerms,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    if state.customer.is_some() {
        return Err(CustomerError::AlreadyRegistered { customer });
    }
    if terms.accountable_window_days == 0
        || terms.proactive_period_days == 0
        || terms.partnership_period_months == 0
    {
        return Err(CustomerError::EmptyWindow { customer });
    }
    if let TargetGroup::Named(name) = target_group {
        check_text(customer, "a target group's name", name, 1)?;
    }
    check_level(customer, *level, *account_owner)?;
    decision.push(CustomerEvent::Registered {
        customer,
        target_group: target_group.clone(),
        level: *level,
        terms: *terms,
        at: *at,
    });
    if *level > RelationshipLevel::Basic {
        decision.push(CustomerEvent::LevelChanged {
            from: RelationshipLevel::Basic,
            to: *level,
            reason: "promised at registration".into(),
            account_owner: *account_owner,
            at: *at,
        });
    }
    decision.align_periodic_duties(*level, terms, *at);
    Ok(decision.events)
}

/// C2: changes the relationship level, for a reason, with an account owner for a partnership
/// (the same level and owner again records nothing); opens the periodic duties the new level
/// needs and withdraws those it does not.
fn change_level(
    state: &CustomerState,
    customer: CustomerId,
    to: &RelationshipLevel,
    reason: &str,
    account_owner: &Option<AccountOwnerId>,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let level = state.level;
    let account_owner = check_level(customer, *to, *account_owner)?;
    if *to == level && account_owner == state.account_owner {
        return Ok(Vec::new());
    }
    let reason = check_text(customer, "a reason", reason, 1)?;
    decision.push(CustomerEvent::LevelChanged {
        from: level,
        to: *to,
        reason,
        account_owner,
        at: *at,
    });
    decision.align_periodic_duties(*to, &state.terms, *at);
    Ok(decision.events)
}

/// C3: records a purchase once per unit; at Accountable and up it opens a follow-up obligation,
/// due within the accountable window.
fn record_purchase(
    state: &CustomerState,
    product: &ProductId,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let level = state.level;
    if state.purchases.contains(product) {
        return Ok(Vec::new());
    }
    decision.push(CustomerEvent::PurchaseRecorded {
        product: *product,
        at: *at,
    });
    if level >= RelationshipLevel::Accountable {
        let kind = ObligationKind::PurchaseFollowUp { product: *product };
        decision.open(kind, next_due(kind, &state.terms, *at), *at);
    }
    Ok(decision.events)
}

/// C4: logs an inquiry with a topic; at Reactive and up it is an obligation until answered (C2).
fn log_inquiry(
    state: &CustomerState,
    customer: CustomerId,
    topic: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let topic = check_text(customer, "an inquiry's topic", topic, 1)?;
    decision.log_inquiry(state.level, InquiryKind::Question, topic, *at);
    Ok(decision.events)
}

/// C4: logs a complaint with a topic; at Reactive and up it is an obligation until answered (C2).
fn log_complaint(
    state: &CustomerState,
    customer: CustomerId,
    topic: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let topic = check_text(customer, "a complaint's topic", topic, 1)?;
    decision.log_inquiry(state.level, InquiryKind::Complaint, topic, *at);
    Ok(decision.events)
}

/// C4: answers a logged inquiry or complaint, once; fulfils the obligation to answer it, if any.
fn answer_inquiry(
    state: &CustomerState,
    customer: CustomerId,
    inquiry: &u32,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    match state.inquiries.get(inquiry) {
        None => {
            return Err(CustomerError::UnknownInquiry {
                customer,
                inquiry: *inquiry,
            })
        }
        Some(found) if found.answered => {
            return Err(CustomerError::InquiryAlreadyAnswered {
                customer,
                inquiry: *inquiry,
            })
        }
        Some(_) => {}
    }
    decision.push(CustomerEvent::InquiryAnswered {
        inquiry: *inquiry,
        at: *at,
    });
    if let Some(obligation) =
        state.open_obligation(ObligationKind::AnswerInquiry { inquiry: *inquiry })
    {
        decision.fulfil(obligation, *at);
    }
    Ok(decision.events)
}

/// C4: records a consultation, with a topic.
fn record_consultation(
    customer: CustomerId,
    topic: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let topic = check_text(customer, "a consultation's topic", topic, 1)?;
    Ok(vec![CustomerEvent::ConsultationRecorded { topic, at: *at }])
}

/// C4: records a demonstration of a model.
fn record_demonstration(
    model: &ModelId,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    Ok(vec![CustomerEvent::DemonstrationRecorded {
        model: *model,
        at: *at,
    }])
}

/// C5: records a substitute offered for a requested model, never the requested model itself,
/// and whether the customer accepted it (the application checked that the model has no unit
/// ready for sale).
fn offer_substitute(
    customer: CustomerId,
    requested: &ModelId,
    offered: &Substitute,
    accepted: &bool,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    if *offered == Substitute::Model(*requested) {
        return Err(CustomerError::SubstituteIsTheRequestedModel {
            customer,
            model: *requested,
        });
    }
    Ok(vec![CustomerEvent::SubstituteOffered {
        requested: *requested,
        offered: *offered,
        accepted: *accepted,
        at: *at,
    }])
}

/// C5: records a related product offered, and whether the customer accepted it.
fn offer_related_product(
    model: &ModelId,
    accepted: &bool,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    Ok(vec![CustomerEvent::RelatedProductOffered {
        model: *model,
        accepted: *accepted,
        at: *at,
    }])
}

/// C6: completes an open follow-up obligation (after a purchase, or a post-warranty offer) with
/// the customer's impressions, complaints and suggestions, and fulfils it; a complaint raised
/// becomes a logged complaint (C4).
fn complete_follow_up(
    state: &CustomerState,
    customer: CustomerId,
    obligation: &u32,
    impressions: &str,
    complaints: &str,
    suggestions: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let level = state.level;
    let found = state
        .obligations
        .get(obligation)
        .ok_or(CustomerError::UnknownObligation {
            customer,
            obligation: *obligation,
        })?;
    if !found.is_open() {
        return Err(CustomerError::ObligationClosed {
            customer,
            obligation: *obligation,
        });
    }
    if !matches!(
        found.kind,
        ObligationKind::PurchaseFollowUp { .. } | ObligationKind::PostWarrantyOffer { .. }
    ) {
        return Err(CustomerError::NotAFollowUp {
            customer,
            obligation: *obligation,
            kind: found.kind,
        });
    }
    let impressions = check_text(customer, "the impressions", impressions, 0)?;
    let complaints = check_text(customer, "the complaints", complaints, 0)?;
    let suggestions = check_text(customer, "the suggestions", suggestions, 0)?;
    decision.push(CustomerEvent::FollowUpCompleted {
        obligation: *obligation,
        impressions,
        complaints: complaints.clone(),
        suggestions,
        at: *at,
    });
    decision.fulfil(*obligation, *at);
    if !complaints.is_empty() {
        decision.log_inquiry(level, InquiryKind::Complaint, complaints, *at);
    }
    Ok(decision.events)
}

/// C2: makes proactive outreach, with a topic; fulfils the open outreach obligation, and at
/// Proactive and up opens the next one, due a proactive period later.
fn make_outreach(
    state: &CustomerState,
    customer: CustomerId,
    topic: &str,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let level = state.level;
    let topic = check_text(customer, "an outreach's topic", topic, 1)?;
    decision.push(CustomerEvent::OutreachMade { topic, at: *at });
    if let Some(open) = state.open_obligation(ObligationKind::Outreach) {
        decision.fulfil(open, *at);
    }
    if level >= RelationshipLevel::Proactive {
        let kind = ObligationKind::Outreach;
        decision.open(kind, next_due(kind, &state.terms, *at), *at);
    }
    Ok(decision.events)
}

/// C2: holds the joint review, with partners only; fulfils the open one and opens the next, due
/// a partnership period later.
fn hold_joint_review(
    state: &CustomerState,
    customer: CustomerId,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let level = state.level;
    if level != RelationshipLevel::Partnership {
        return Err(CustomerError::NotAPartner { customer, level });
    }
    decision.push(CustomerEvent::JointReviewHeld { at: *at });
    if let Some(open) = state.open_obligation(ObligationKind::JointReview) {
        decision.fulfil(open, *at);
    }
    let kind = ObligationKind::JointReview;
    decision.open(kind, next_due(kind, &state.terms, *at), *at);
    Ok(decision.events)
}

/// Policy §7: at Proactive and up, opens the obligation to offer a post-warranty contract for a
/// unit whose warranty ends soon, due on `due`, once per unit; nothing for lower levels.
fn schedule_warranty_outreach(
    state: &CustomerState,
    product: &ProductId,
    due: &NaiveDate,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    let mut decision = Decision::new(state);
    let level = state.level;
    let kind = ObligationKind::PostWarrantyOffer { product: *product };
    let scheduled = state
        .obligations
        .values()
        .any(|obligation| obligation.kind == kind);
    if level >= RelationshipLevel::Proactive && !scheduled {
        decision.open(kind, Some(*due), *at);
    }
    Ok(decision.events)
}

/// C7: records the erasure of the customer's personal data, once.
fn erase_data(
    state: &CustomerState,
    at: &DateTime<Utc>,
) -> Result<Vec<CustomerEvent>, CustomerError> {
    Ok(if state.personal_data_erased {
        Vec::new()
    } else {
        vec![CustomerEvent::PersonalDataErased { at: *at }]
    })
}

/// The checks of every command but the first (C1): the customer was registered, and is the
/// customer the command names.
fn registered(state: &CustomerState, customer: CustomerId) -> Result<(), CustomerError> {
    match state.customer {
        None => Err(CustomerError::NotRegistered { customer }),
        Some(stream) if stream != customer => Err(CustomerError::WrongCustomer {
            command: customer,
            stream,
        }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
