//! Races on the rules that span aggregates, for any store: many threads, each with its own
//! application over the same store when given several (as separate processes would be), send
//! commands of which a rule allows only one, all at once, trial after trial. A
//! [`RaceReport`] counts the trials in which the rule was broken and the errors that were
//! neither a success nor the rule's refusal.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Barrier;

use chrono::Duration;

use super::scenario::{no_context, World};
use super::time::scenario_day as day;
use crate::kernel::{CheckpointStore, EventStore};
use crate::values::SerialNumber;
use crate::*;

/// What a race found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RaceReport {
    /// Trials run.
    pub trials: usize,
    /// Commands that passed.
    pub passed: usize,
    /// Commands refused by the rule raced on.
    pub refused: usize,
    /// Trials in which the rule was broken.
    pub violations: usize,
    /// Errors other than the rule's refusal, in words.
    pub unexpected: Vec<String>,
}

/// S1: in each trial a new unit is received and `threads` threads propose, then activate, an
/// on-demand contract on it, every term overlapping every other. At most one may pass; the
/// others must be refused with [`ServiceError::UnitHasContract`]. `services` are applications
/// over one store (set up with the world's customer); thread `i` uses `services[i % len]`.
pub fn overlapping_contracts<S>(
    world: &World<S>,
    services: &[ServiceLifecycle<S>],
    threads: usize,
    trials: usize,
) -> RaceReport
where
    S: EventStore<ServiceEvent> + CheckpointStore + Clone,
{
    let mut report = RaceReport::default();
    for trial in 0..trials {
        let serial = SerialNumber::new(format!("RACE-{trial}")).expect("a valid serial");
        let unit = ProductId::of(world.model, &serial);
        world
            .service
            .product(
                ProductCommand::ReceiveUnit {
                    model: world.model,
                    serial,
                    at: day(1),
                },
                &no_context(),
            )
            .expect("the unit is received");
        let barrier = Barrier::new(threads);
        let outcomes: Vec<Result<(), ServiceError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|thread| {
                    let service = &services[thread % services.len()];
                    let barrier = &barrier;
                    let contract = ContractId::from_uuid(uuid::Uuid::from_u128(
                        (1 << 64) | ((trial as u128) << 8) | thread as u128,
                    ));
                    let start = day(10).date_naive() + Duration::days(thread as i64);
                    let propose = ContractCommand::Propose {
                        terms: Terms {
                            contract,
                            kind: ContractKind::OnDemand,
                            customer: world.customer,
                            units: BTreeSet::from([unit]),
                            start,
                            end: start + Duration::days(30),
                            plan: default_plan(&TargetGroup::Household),
                            entitlements: Entitlements::default(),
                            currency: world.eur,
                        },
                        warranty_ends: BTreeMap::new(),
                        at: day(5),
                    };
                    scope.spawn(move || {
                        barrier.wait();
                        service.contract(propose, &no_context())?;
                        service.contract(
                            ContractCommand::Activate {
                                contract,
                                at: day(6),
                            },
                            &no_context(),
                        )?;
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a racing thread does not panic"))
                .collect()
        });
        report.trials += 1;
        let mut passed = 0;
        for outcome in outcomes {
            match outcome {
                Ok(()) => passed += 1,
                Err(ServiceError::UnitHasContract { .. }) => report.refused += 1,
                Err(other) => report.unexpected.push(other.to_string()),
            }
        }
        report.passed += passed;
        world
            .service
            .process_policies()
            .expect("the directory catches up");
        let live = world.service.directory(|directory| {
            directory
                .overlapping_contracts(unit, day(0).date_naive(), day(100).date_naive())
                .count()
        });
        if passed > 1 || live > 1 {
            report.violations += 1;
        }
    }
    report
}

/// T2: in each trial the world's technician is certified again, a call is opened on the
/// warranty contract, and one thread dispatches the technician to it while another revokes
/// the certification, both on the same day. Either may come first, but never both may pass:
/// after the dispatch the revocation would undo it, after the revocation the technician is not
/// certified. The world must have sold its unit ([`World::prepare_and_sell`]).
pub fn dispatch_against_revocation<S>(
    world: &World<S>,
    services: &[ServiceLifecycle<S>],
    trials: usize,
) -> RaceReport
where
    S: EventStore<ServiceEvent> + CheckpointStore + Clone,
{
    let contract = world.warranty_contract();
    let mut report = RaceReport::default();
    for trial in 0..trials {
        let at = day(30) + Duration::minutes(trial as i64);
        world
            .service
            .technician(
                TechnicianCommand::Certify {
                    technician: world.technician,
                    model: world.model,
                    until: day(2_000).date_naive(),
                    at,
                },
                &no_context(),
            )
            .expect("the technician is certified again");
        let call = CallId::from_uuid(uuid::Uuid::from_u128((2 << 64) | trial as u128));
        world
            .service
            .contract(
                ContractCommand::OpenCall {
                    contract,
                    call,
                    unit: world.product,
                    priority: Priority::Normal,
                    kind: CallKind::Breakdown,
                    at,
                },
                &no_context(),
            )
            .expect("the call is opened");
        let barrier = Barrier::new(2);
        let (dispatched, revoked) = std::thread::scope(|scope| {
            let dispatcher = &services[0];
            let revoker = &services[1 % services.len()];
            let barrier = &barrier;
            let dispatch = scope.spawn(move || {
                barrier.wait();
                dispatcher.contract(
                    ContractCommand::Dispatch {
                        contract,
                        call,
                        technician: world.technician,
                        parts: Vec::new(),
                        at,
                    },
                    &no_context(),
                )
            });
            let revoke = scope.spawn(move || {
                barrier.wait();
                revoker.technician(
                    TechnicianCommand::Revoke {
                        technician: world.technician,
                        model: world.model,
                        reason: "the race".into(),
                        at,
                    },
                    &no_context(),
                )
            });
            (
                dispatch.join().expect("the dispatcher does not panic"),
                revoke.join().expect("the revoker does not panic"),
            )
        });
        report.trials += 1;
        match (dispatched, revoked) {
            // The dispatch came first: the revocation dated the same day would undo it.
            (
                Ok(_),
                Err(ServiceError::Technician(crate::kernel::ExecuteError::Rejected(
                    TechnicianError::AssignedAlready { .. },
                ))),
            ) => report.passed += 1,
            // The revocation came first: the technician is no longer certified that day.
            (Err(ServiceError::NotCertified { .. }), Ok(_)) => report.refused += 1,
            (Ok(_), Ok(_)) => report.violations += 1,
            (dispatched, revoked) => report.unexpected.push(format!(
                "dispatch: {:?}; revocation: {:?}",
                dispatched.err().map(|error| error.to_string()),
                revoked.err().map(|error| error.to_string())
            )),
        }
    }
    report
}
