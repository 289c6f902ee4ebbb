//! The UnitCoverage aggregate: which contracts cover one unit, over which days. It owns the rule
//! that spans contracts (S1 of `docs/domain.md`): a unit never has two contracts at once.
//!
//! Each contract is its own aggregate, so no contract can see another's term. The facade
//! therefore claims a unit's days in the unit's coverage stream before it proposes a contract
//! (and again before a renewal extends one), appending with the version it decided on: of two
//! proposals racing for overlapping days of one unit, the second append finds the stream moved
//! on, decides again, and is refused. Cancelling or expiring a contract releases its claims.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::values::{ContractId, ProductId};
use crate::event_enum::event_enum;
use crate::kernel::{Decider, InvalidStreamId, StreamId};

event_enum! {
    /// What happened to a unit's coverage.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(tag = "type", content = "data")]
    pub enum CoverageEvent {
        /// S1: a contract claimed the unit's days `start..=end` (a later claim of the same
        /// contract replaces its span, as a renewal does).
        "coverage.claimed" => Claimed {
            /// The unit.
            unit: ProductId,
            /// The contract.
            contract: ContractId,
            /// The first day.
            start: NaiveDate,
            /// The last day.
            end: NaiveDate,
            /// When.
            at: DateTime<Utc>,
        },
        /// S1: a contract that was cancelled or expired no longer holds the unit's days.
        "coverage.released" => Released {
            /// The contract.
            contract: ContractId,
            /// When.
            at: DateTime<Utc>,
        },
    }
}

impl CoverageEvent {
    /// When the event occurred in business time: its `at`, or none for an event recorded
    /// together with the one before it (it occurred with that one).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Claimed { at, .. } | Self::Released { at, .. } => Some(*at),
        }
    }
}
/// The days a contract holds of a unit, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoverageSpan {
    /// The first day.
    pub start: NaiveDate,
    /// The last day.
    pub end: NaiveDate,
}

impl CoverageSpan {
    /// Whether the two spans share a day.
    pub fn overlaps(&self, other: &CoverageSpan) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// The folded coverage of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoverageState {
    /// The unit, once a contract claimed it.
    pub unit: Option<ProductId>,
    /// The contracts holding days of the unit, with their spans.
    pub claims: BTreeMap<ContractId, CoverageSpan>,
}

/// What can be asked of a unit's coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CoverageCommand {
    /// S1: claim `start..=end` of the unit for a contract; refused when another contract holds
    /// an overlapping day. Claiming the span a contract holds already records nothing; claiming
    /// another span for it is a renewal's business (`renewal`), refused otherwise.
    Claim {
        /// The unit.
        unit: ProductId,
        /// The contract.
        contract: ContractId,
        /// The first day.
        start: NaiveDate,
        /// The last day.
        end: NaiveDate,
        /// When.
        at: DateTime<Utc>,
        /// Whether a renewal asks, changing the span the contract holds.
        renewal: bool,
    },
    /// S1: release what a contract holds of the unit; releasing what it does not hold records
    /// nothing.
    Release {
        /// The unit.
        unit: ProductId,
        /// The contract.
        contract: ContractId,
        /// When.
        at: DateTime<Utc>,
    },
}

impl CoverageCommand {
    /// The unit the command is about.
    pub fn unit(&self) -> ProductId {
        match self {
            Self::Claim { unit, .. } | Self::Release { unit, .. } => *unit,
        }
    }
}

/// Why a unit's coverage refuses a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "rule_broken", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CoverageError {
    /// S1: another contract holds an overlapping day.
    #[error(
        "unit {unit} is covered by contract {contract} from {start} to {end}, which overlaps: a unit has at most one contract on any date (S1)"
    )]
    Overlaps {
        /// The unit.
        unit: ProductId,
        /// The contract that holds the days.
        contract: ContractId,
        /// Its first day.
        start: NaiveDate,
        /// Its last day.
        end: NaiveDate,
    },
    /// A contract claiming other days than it holds, outside a renewal.
    #[error("contract {contract} holds unit {unit} from {start} to {end} already: only a renewal changes the days a contract holds (S1)")]
    ClaimedAlready {
        /// The unit.
        unit: ProductId,
        /// The contract.
        contract: ContractId,
        /// The first day it holds.
        start: NaiveDate,
        /// The last day it holds.
        end: NaiveDate,
    },
    /// A span that ends before it starts.
    #[error(
        "a claim of unit {unit} from {start} to {end} ends before it starts: start ≤ end (S1)"
    )]
    EndsBeforeStart {
        /// The unit.
        unit: ProductId,
        /// The first day.
        start: NaiveDate,
        /// The last day.
        end: NaiveDate,
    },
    /// The command names another unit than the stream holds.
    #[error("the command is for unit {command}, but this coverage stream holds unit {stream}")]
    WrongUnit {
        /// The unit the command names.
        command: ProductId,
        /// The unit of the stream.
        stream: ProductId,
    },
}

/// UnitCoverage: the contracts that cover one unit, so that no two overlap (S1).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCoverage;

impl UnitCoverage {
    /// The stream of a unit's coverage: `coverage-{id}`.
    pub fn stream_id(unit: ProductId) -> Result<StreamId, InvalidStreamId> {
        StreamId::for_entity("coverage", unit)
    }
}

impl Decider for UnitCoverage {
    type State = CoverageState;
    type Command = CoverageCommand;
    type Event = CoverageEvent;
    type Error = CoverageError;

    fn state_size(state: &CoverageState) -> usize {
        std::mem::size_of::<CoverageState>()
            + crate::state_size::map::<ContractId, CoverageSpan>(state.claims.len())
    }

    fn apply(state: &mut CoverageState, event: &CoverageEvent) {
        match event {
            CoverageEvent::Claimed {
                unit,
                contract,
                start,
                end,
                ..
            } => {
                state.unit = Some(*unit);
                state.claims.insert(
                    *contract,
                    CoverageSpan {
                        start: *start,
                        end: *end,
                    },
                );
            }
            CoverageEvent::Released { contract, .. } => {
                state.claims.remove(contract);
            }
        }
    }

    fn decide(
        state: &CoverageState,
        command: &CoverageCommand,
    ) -> Result<Vec<CoverageEvent>, CoverageError> {
        let unit = command.unit();
        if let Some(stream) = state.unit.filter(|stream| *stream != unit) {
            return Err(CoverageError::WrongUnit {
                command: unit,
                stream,
            });
        }
        match command {
            CoverageCommand::Claim {
                contract,
                start,
                end,
                at,
                renewal,
                ..
            } => {
                if end < start {
                    return Err(CoverageError::EndsBeforeStart {
                        unit,
                        start: *start,
                        end: *end,
                    });
                }
                let span = CoverageSpan {
                    start: *start,
                    end: *end,
                };
                match state.claims.get(contract) {
                    Some(held) if *held == span => return Ok(Vec::new()),
                    Some(held) if !renewal => {
                        return Err(CoverageError::ClaimedAlready {
                            unit,
                            contract: *contract,
                            start: held.start,
                            end: held.end,
                        })
                    }
                    _ => {}
                }
                if let Some((other, held)) = state
                    .claims
                    .iter()
                    .find(|(other, held)| *other != contract && held.overlaps(&span))
                {
                    return Err(CoverageError::Overlaps {
                        unit,
                        contract: *other,
                        start: held.start,
                        end: held.end,
                    });
                }
                Ok(vec![CoverageEvent::Claimed {
                    unit,
                    contract: *contract,
                    start: *start,
                    end: *end,
                    at: *at,
                }])
            }
            CoverageCommand::Release { contract, at, .. } => {
                Ok(if state.claims.contains_key(contract) {
                    vec![CoverageEvent::Released {
                        contract: *contract,
                        at: *at,
                    }]
                } else {
                    Vec::new()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::kernel::testing::given;

    fn unit() -> ProductId {
        ProductId::from_uuid(uuid::Uuid::from_u128(7))
    }

    fn contract(n: u128) -> ContractId {
        ContractId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn day(d: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(d.unsigned_abs())
    }

    fn at() -> DateTime<Utc> {
        day(0).and_hms_opt(9, 0, 0).unwrap().and_utc()
    }

    fn claim(n: u128, start: i64, end: i64) -> CoverageCommand {
        CoverageCommand::Claim {
            unit: unit(),
            contract: contract(n),
            start: day(start),
            end: day(end),
            at: at(),
            renewal: false,
        }
    }

    fn renew(n: u128, start: i64, end: i64) -> CoverageCommand {
        CoverageCommand::Claim {
            unit: unit(),
            contract: contract(n),
            start: day(start),
            end: day(end),
            at: at(),
            renewal: true,
        }
    }

    fn claimed(n: u128, start: i64, end: i64) -> CoverageEvent {
        CoverageEvent::Claimed {
            unit: unit(),
            contract: contract(n),
            start: day(start),
            end: day(end),
            at: at(),
        }
    }

    #[test]
    fn a_claim_overlapping_another_contract_by_one_day_is_refused_s1() {
        given::<UnitCoverage>([claimed(1, 0, 364)])
            .when(claim(2, 364, 400))
            .then_error(CoverageError::Overlaps {
                unit: unit(),
                contract: contract(1),
                start: day(0),
                end: day(364),
            });
    }

    #[test]
    fn a_claim_from_the_day_after_another_ends_is_accepted_s1() {
        given::<UnitCoverage>([claimed(1, 0, 364)])
            .when(claim(2, 365, 700))
            .then_events([claimed(2, 365, 700)]);
    }

    #[test]
    fn claiming_the_same_span_again_records_nothing_and_only_a_renewal_replaces_it() {
        given::<UnitCoverage>([claimed(1, 0, 364)])
            .when(claim(1, 0, 364))
            .then_no_events();
        given::<UnitCoverage>([claimed(1, 0, 364)])
            .when(claim(1, 0, 729))
            .then_error(CoverageError::ClaimedAlready {
                unit: unit(),
                contract: contract(1),
                start: day(0),
                end: day(364),
            });
        given::<UnitCoverage>([claimed(1, 0, 364)])
            .when(renew(1, 0, 729))
            .then_events([claimed(1, 0, 729)]);
        given::<UnitCoverage>([claimed(1, 0, 364), claimed(2, 365, 400)])
            .when(renew(1, 0, 365))
            .then_error(CoverageError::Overlaps {
                unit: unit(),
                contract: contract(2),
                start: day(365),
                end: day(400),
            });
    }

    #[test]
    fn a_released_contract_no_longer_holds_the_days() {
        let released = CoverageEvent::Released {
            contract: contract(1),
            at: at(),
        };
        given::<UnitCoverage>([claimed(1, 0, 364), released.clone()])
            .when(claim(2, 100, 200))
            .then_events([claimed(2, 100, 200)]);
        given::<UnitCoverage>([claimed(1, 0, 364), released])
            .when(CoverageCommand::Release {
                unit: unit(),
                contract: contract(1),
                at: at(),
            })
            .then_no_events();
    }

    #[test]
    fn a_span_ending_before_it_starts_is_refused() {
        given::<UnitCoverage>([]).when(claim(1, 10, 9)).then_error(
            CoverageError::EndsBeforeStart {
                unit: unit(),
                start: day(10),
                end: day(9),
            },
        );
    }

    proptest! {
        /// S1 as an invariant: whatever claims and releases are asked, no two contracts ever
        /// hold an overlapping day of the unit.
        #[test]
        fn no_two_claims_ever_overlap(
            commands in proptest::collection::vec((0u128..5, 0i64..60, 0i64..30, 0u8..3), 0..60)
        ) {
            let mut state = CoverageState::default();
            for (n, start, length, kind) in commands {
                let command = match kind {
                    0 => CoverageCommand::Release { unit: unit(), contract: contract(n), at: at() },
                    1 => claim(n, start, start + length),
                    _ => renew(n, start, start + length),
                };
                if let Ok(events) = UnitCoverage::decide(&state, &command) {
                    for event in &events {
                        UnitCoverage::apply(&mut state, event);
                    }
                }
                let spans: Vec<_> = state.claims.values().collect();
                for (i, a) in spans.iter().enumerate() {
                    for b in &spans[i + 1..] {
                        prop_assert!(!a.overlaps(b), "{a:?} and {b:?} overlap");
                    }
                }
            }
        }
    }
}
