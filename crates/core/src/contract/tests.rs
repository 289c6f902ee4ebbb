use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::kernel::testing::{given, laws};
use crate::kernel::Event;
use crate::testing::time::{at, date, eur};

fn contract() -> ContractId {
    ContractId::from_uuid(uuid::Uuid::from_u128(1))
}

fn unit() -> ProductId {
    ProductId::from_uuid(uuid::Uuid::from_u128(2))
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::from_u128(3))
}

fn technician() -> TechnicianId {
    TechnicianId::from_uuid(uuid::Uuid::from_u128(4))
}

fn call(n: u128) -> CallId {
    CallId::from_uuid(uuid::Uuid::from_u128(100 + n))
}

fn plan() -> ServicePlan {
    ServicePlan {
        targets: BTreeMap::from([
            (
                Priority::Critical,
                Targets {
                    response_minutes: 60,
                    arrival_minutes: 240,
                    resolution_minutes: 480,
                },
            ),
            (
                Priority::Normal,
                Targets {
                    response_minutes: 240,
                    arrival_minutes: 540,
                    resolution_minutes: 1_080,
                },
            ),
        ]),
        calendar: BusinessCalendar::office_hours(),
    }
}

fn entitlements() -> Entitlements {
    Entitlements {
        preventive_every_months: Some(6),
        preventive_window_days: 10,
        capital_repair: true,
        parts_supply: true,
        consulting: false,
        modernization: false,
        training_hours_per_year: 8,
        incident_cap: None,
    }
}

fn terms(
    kind: ContractKind,
    start: NaiveDate,
    end: NaiveDate,
    entitlements: Entitlements,
) -> Terms {
    Terms {
        contract: contract(),
        kind,
        customer: customer(),
        units: BTreeSet::from([unit()]),
        start,
        end,
        plan: plan(),
        entitlements,
        currency: eur(),
    }
}

fn proposed(kind: ContractKind, entitlements: Entitlements) -> ContractEvent {
    ContractEvent::Proposed {
        terms: terms(kind, date(2026, 3, 1), date(2027, 2, 28), entitlements),
        at: at(-10, 9, 0),
    }
}

fn active(kind: ContractKind, entitlements: Entitlements) -> Vec<ContractEvent> {
    vec![
        proposed(kind, entitlements),
        ContractEvent::Activated { at: at(-1, 9, 0) },
    ]
}

fn propose(
    kind: ContractKind,
    start: NaiveDate,
    end: NaiveDate,
    warranty_end: Option<NaiveDate>,
) -> ContractCommand {
    let entitlements = if kind == ContractKind::OnDemand {
        Entitlements::default()
    } else {
        entitlements()
    };
    ContractCommand::Propose {
        terms: terms(kind, start, end, entitlements),
        warranty_ends: warranty_end
            .map(|end| BTreeMap::from([(unit(), end)]))
            .unwrap_or_default(),
        at: at(-10, 9, 0),
    }
}

fn open_call(n: u128, priority: Priority, kind: CallKind, when: DateTime<Utc>) -> ContractCommand {
    ContractCommand::OpenCall {
        contract: contract(),
        call: call(n),
        unit: unit(),
        priority,
        kind,
        at: when,
    }
}

/// A critical call opened Monday 10:00: respond by 11:00, arrive by 14:00, resolve by 18:00.
fn critical_deadlines() -> Deadlines {
    Deadlines {
        response: at(0, 11, 0),
        arrival: at(0, 14, 0),
        resolution: at(0, 18, 0),
    }
}

fn opened(kind: CallKind) -> ContractEvent {
    ContractEvent::CallOpened {
        call: call(1),
        unit: unit(),
        priority: Priority::Critical,
        kind,
        deadlines: critical_deadlines(),
        at: at(0, 10, 0),
    }
}

fn arrived(kind: CallKind, contract_kind: ContractKind) -> Vec<ContractEvent> {
    let mut history = active(contract_kind, entitlements());
    history.extend([
        opened(kind),
        ContractEvent::TechnicianDispatched {
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 10, 30),
        },
        ContractEvent::TechnicianArrived {
            call: call(1),
            at: at(0, 12, 0),
        },
    ]);
    history
}

fn resolve(cost: i64, accepts: bool, when: DateTime<Utc>) -> ContractCommand {
    ContractCommand::Resolve {
        contract: contract(),
        call: call(1),
        work: "replaced pump".into(),
        parts: vec![(PartNumber::new("PUMP-220").unwrap(), 1)],
        training_hours: 0,
        cost: Money::new(cost, eur()),
        customer_accepts_charge: accepts,
        at: when,
    }
}

fn resolved(cost: i64, payer: Payer, charge: i64, when: DateTime<Utc>) -> ContractEvent {
    ContractEvent::CallResolved {
        call: call(1),
        work: "replaced pump".into(),
        parts: vec![(PartNumber::new("PUMP-220").unwrap(), 1)],
        training_hours: 0,
        cost: Money::new(cost, eur()),
        payer,
        customer_charge: Money::new(charge, eur()),
        at: when,
    }
}

// --- S1 ----------------------------------------------------------------------------------------

#[test]
fn a_command_naming_another_contract_than_the_stream_is_rejected() {
    let other = ContractId::from_uuid(uuid::Uuid::from_u128(99));
    given::<ServiceContract>(active(ContractKind::PostWarranty, entitlements()))
        .when(ContractCommand::Suspend {
            contract: other,
            reason: "unpaid".into(),
            at: at(5, 9, 0),
        })
        .then_error(ContractError::WrongContract {
            command: other,
            stream: contract(),
        });
}

#[test]
fn a_post_warranty_contract_starts_after_the_warranty_and_activation_schedules_visits() {
    let mut command = propose(
        ContractKind::PostWarranty,
        date(2026, 3, 1),
        date(2027, 2, 28),
        Some(date(2026, 2, 28)),
    );
    if let ContractCommand::Propose { at: when, .. } = &mut command {
        *when = at(-10, 9, 0);
    }
    given::<ServiceContract>([])
        .when(command)
        .then_events([proposed(ContractKind::PostWarranty, entitlements())]);
    let state = given::<ServiceContract>([proposed(ContractKind::PostWarranty, entitlements())])
        .when(ContractCommand::Activate {
            contract: contract(),
            at: at(-1, 9, 0),
        })
        .then_events([
            ContractEvent::Activated { at: at(-1, 9, 0) },
            ContractEvent::VisitScheduled {
                visit: 1,
                due: date(2026, 9, 1),
                window_days: 10,
            },
        ]);
    assert!(state.active_on(date(2026, 3, 1)));
    assert!(state.active_on(date(2027, 2, 28)), "the end is inclusive");
    assert!(!state.active_on(date(2027, 3, 1)));
}

#[test]
fn a_post_warranty_contract_overlapping_the_warranty_is_rejected() {
    given::<ServiceContract>([])
        .when(propose(
            ContractKind::PostWarranty,
            date(2026, 3, 1),
            date(2027, 2, 28),
            Some(date(2026, 3, 1)),
        ))
        .then_error(ContractError::OverlapsWarranty {
            contract: contract(),
            start: date(2026, 3, 1),
            unit: unit(),
            warranty_end: Some(date(2026, 3, 1)),
        });
    given::<ServiceContract>([])
        .when(propose(
            ContractKind::PostWarranty,
            date(2026, 3, 1),
            date(2027, 2, 28),
            None,
        ))
        .then_error(ContractError::OverlapsWarranty {
            contract: contract(),
            start: date(2026, 3, 1),
            unit: unit(),
            warranty_end: None,
        });
}

#[test]
fn a_term_ending_before_it_starts_bad_targets_or_entitled_on_demand_is_rejected() {
    given::<ServiceContract>([])
        .when(propose(
            ContractKind::Warranty,
            date(2026, 3, 1),
            date(2026, 2, 1),
            None,
        ))
        .then_error(ContractError::BadTerm {
            contract: contract(),
            start: date(2026, 3, 1),
            end: date(2026, 2, 1),
        });
    let mut bad_targets = propose(
        ContractKind::Warranty,
        date(2026, 3, 1),
        date(2027, 2, 28),
        None,
    );
    if let ContractCommand::Propose { terms, .. } = &mut bad_targets {
        terms.plan.targets.insert(
            Priority::Low,
            Targets {
                response_minutes: 100,
                arrival_minutes: 100,
                resolution_minutes: 50,
            },
        );
    }
    given::<ServiceContract>([])
        .when(bad_targets)
        .then_error(ContractError::BadTargets {
            contract: contract(),
        });
    let mut on_demand = propose(
        ContractKind::OnDemand,
        date(2026, 3, 1),
        date(2027, 2, 28),
        None,
    );
    if let ContractCommand::Propose { terms, .. } = &mut on_demand {
        terms.entitlements = entitlements();
    }
    given::<ServiceContract>([]).when(on_demand).then_error(
        ContractError::OnDemandWithEntitlements {
            contract: contract(),
        },
    );
}

#[test]
fn suspend_resume_renew_cancel_and_expire_follow_the_lifecycle() {
    let history = active(ContractKind::Warranty, Entitlements::default());
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Suspend {
            contract: contract(),
            reason: "unpaid".into(),
            at: at(5, 9, 0),
        })
        .then_events([ContractEvent::Suspended {
            reason: "unpaid".into(),
            at: at(5, 9, 0),
        }]);
    let mut suspended = history.clone();
    suspended.push(ContractEvent::Suspended {
        reason: "unpaid".into(),
        at: at(5, 9, 0),
    });
    let state = ServiceContract::fold(&suspended);
    assert!(!state.active_on(date(2026, 3, 10)));
    given::<ServiceContract>(suspended.clone())
        .when(ContractCommand::Resume {
            contract: contract(),
            at: at(6, 9, 0),
        })
        .then_events([ContractEvent::Resumed { at: at(6, 9, 0) }]);
    given::<ServiceContract>(suspended)
        .when(open_call(
            1,
            Priority::Normal,
            CallKind::Breakdown,
            at(7, 10, 0),
        ))
        .then_error(ContractError::NotActiveOn {
            contract: contract(),
            date: date(2026, 3, 9),
        });
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Renew {
            contract: contract(),
            until: date(2027, 2, 1),
            at: at(5, 9, 0),
        })
        .then_error(ContractError::RenewalNotLater {
            contract: contract(),
            end: date(2027, 2, 28),
            until: date(2027, 2, 1),
        });
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Expire {
            contract: contract(),
            at: at(5, 9, 0),
        })
        .then_error(ContractError::NotYetEnded {
            contract: contract(),
            end: date(2027, 2, 28),
            date: date(2026, 3, 7),
        });
    let after_end = Utc
        .with_ymd_and_hms(2027, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Expire {
            contract: contract(),
            at: after_end,
        })
        .then_events([ContractEvent::Expired { at: after_end }]);
    let mut cancelled = history;
    cancelled.push(ContractEvent::Cancelled {
        reason: "sold the unit".into(),
        at: at(5, 9, 0),
    });
    given::<ServiceContract>(cancelled)
        .when(ContractCommand::Resume {
            contract: contract(),
            at: at(6, 9, 0),
        })
        .then_error(ContractError::WrongStatus {
            contract: contract(),
            status: ContractStatus::Cancelled,
            action: "resumed",
        });
}

#[test]
fn renewal_extends_the_term_and_schedules_the_further_visits() {
    given::<ServiceContract>({
        let mut history = active(ContractKind::PostWarranty, entitlements());
        history.push(ContractEvent::VisitScheduled {
            visit: 1,
            due: date(2026, 9, 1),
            window_days: 10,
        });
        history
    })
    .when(ContractCommand::Renew {
        contract: contract(),
        until: date(2028, 2, 29),
        at: at(300, 9, 0),
    })
    .then_events([
        ContractEvent::Renewed {
            until: date(2028, 2, 29),
            at: at(300, 9, 0),
        },
        ContractEvent::VisitScheduled {
            visit: 2,
            due: date(2027, 3, 1),
            window_days: 10,
        },
        ContractEvent::VisitScheduled {
            visit: 3,
            due: date(2027, 9, 1),
            window_days: 10,
        },
    ]);
}

// --- S2 ----------------------------------------------------------------------------------------

#[test]
fn a_calls_deadlines_count_business_hours_only() {
    given::<ServiceContract>(active(ContractKind::Warranty, Entitlements::default()))
        .when(open_call(
            1,
            Priority::Critical,
            CallKind::Breakdown,
            at(0, 10, 0),
        ))
        .then_events([opened(CallKind::Breakdown)]);
    // Friday 17:00: the hour to closing is the response; arrival and resolution run into Monday.
    given::<ServiceContract>(active(ContractKind::Warranty, Entitlements::default()))
        .when(open_call(
            2,
            Priority::Critical,
            CallKind::Breakdown,
            at(4, 17, 0),
        ))
        .then_events([ContractEvent::CallOpened {
            call: call(2),
            unit: unit(),
            priority: Priority::Critical,
            kind: CallKind::Breakdown,
            deadlines: Deadlines {
                response: at(4, 18, 0),
                arrival: at(7, 12, 0),
                resolution: at(7, 16, 0),
            },
            at: at(4, 17, 0),
        }]);
}

#[test]
fn calls_outside_the_term_for_other_units_or_unplanned_priorities_are_rejected() {
    let history = active(ContractKind::Warranty, Entitlements::default());
    let late = Utc
        .with_ymd_and_hms(2027, 3, 1, 10, 0, 0)
        .single()
        .unwrap_or_default();
    given::<ServiceContract>(history.clone())
        .when(open_call(1, Priority::Critical, CallKind::Breakdown, late))
        .then_error(ContractError::NotActiveOn {
            contract: contract(),
            date: date(2027, 3, 1),
        });
    let stranger = ProductId::from_uuid(uuid::Uuid::from_u128(77));
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::OpenCall {
            contract: contract(),
            call: call(1),
            unit: stranger,
            priority: Priority::Critical,
            kind: CallKind::Breakdown,
            at: at(0, 10, 0),
        })
        .then_error(ContractError::UnitNotCovered {
            contract: contract(),
            unit: stranger,
        });
    given::<ServiceContract>(history.clone())
        .when(open_call(
            1,
            Priority::Low,
            CallKind::Breakdown,
            at(0, 10, 0),
        ))
        .then_error(ContractError::NoTargets {
            contract: contract(),
            priority: Priority::Low,
        });
    let mut with_call = history;
    with_call.push(opened(CallKind::Breakdown));
    given::<ServiceContract>(with_call)
        .when(open_call(
            1,
            Priority::Critical,
            CallKind::Breakdown,
            at(1, 10, 0),
        ))
        .then_error(ContractError::CallExists {
            contract: contract(),
            call: call(1),
        });
}

#[test]
fn the_incident_cap_refuses_calls_beyond_it() {
    let capped = Entitlements {
        incident_cap: Some(1),
        ..entitlements()
    };
    let mut history = active(ContractKind::PostWarranty, capped);
    history.push(opened(CallKind::Breakdown));
    given::<ServiceContract>(history)
        .when(open_call(
            2,
            Priority::Critical,
            CallKind::Breakdown,
            at(1, 10, 0),
        ))
        .then_error(ContractError::IncidentCapReached {
            contract: contract(),
            cap: 1,
        });
}

// --- S3 ----------------------------------------------------------------------------------------

#[test]
fn a_breach_is_recorded_exactly_when_the_measured_instant_is_after_the_deadline() {
    let mut history = active(ContractKind::Warranty, Entitlements::default());
    history.push(opened(CallKind::Breakdown));
    // At the deadline exactly: no breach.
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Dispatch {
            contract: contract(),
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 11, 0),
        })
        .then_events([ContractEvent::TechnicianDispatched {
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 11, 0),
        }]);
    // One second later: a breach by one second.
    let late = at(0, 11, 0) + Duration::seconds(1);
    given::<ServiceContract>(history)
        .when(ContractCommand::Dispatch {
            contract: contract(),
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: late,
        })
        .then_events([
            ContractEvent::TechnicianDispatched {
                call: call(1),
                technician: technician(),
                parts: Vec::new(),
                at: late,
            },
            ContractEvent::SlaBreached {
                call: call(1),
                target: SlaTarget::Response,
                by_seconds: 1,
            },
        ]);
}

#[test]
fn arrival_and_resolution_breaches_are_measured_against_their_own_deadlines() {
    let mut history = active(ContractKind::Warranty, Entitlements::default());
    history.extend([
        opened(CallKind::Breakdown),
        ContractEvent::TechnicianDispatched {
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 10, 30),
        },
    ]);
    given::<ServiceContract>(history)
        .when(ContractCommand::Arrive {
            contract: contract(),
            call: call(1),
            at: at(0, 15, 0),
        })
        .then_events([
            ContractEvent::TechnicianArrived {
                call: call(1),
                at: at(0, 15, 0),
            },
            ContractEvent::SlaBreached {
                call: call(1),
                target: SlaTarget::Arrival,
                by_seconds: 3_600,
            },
        ]);
    given::<ServiceContract>(arrived(CallKind::Breakdown, ContractKind::Warranty))
        .when(resolve(20_000, false, at(1, 10, 0)))
        .then_events([
            resolved(20_000, Payer::Seller, 0, at(1, 10, 0)),
            ContractEvent::SlaBreached {
                call: call(1),
                target: SlaTarget::Resolution,
                by_seconds: 16 * 3_600,
            },
        ]);
}

#[test]
fn dispatch_arrival_and_resolution_are_enforced_in_order() {
    let mut history = active(ContractKind::Warranty, Entitlements::default());
    history.push(opened(CallKind::Breakdown));
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Arrive {
            contract: contract(),
            call: call(1),
            at: at(0, 12, 0),
        })
        .then_error(ContractError::CallOutOfOrder {
            contract: contract(),
            call: call(1),
            action: "marked arrived",
            state: "no technician is dispatched",
        });
    given::<ServiceContract>(history.clone())
        .when(resolve(0, false, at(0, 12, 0)))
        .then_error(ContractError::CallOutOfOrder {
            contract: contract(),
            call: call(1),
            action: "resolved",
            state: "the technician has not arrived",
        });
    given::<ServiceContract>(history)
        .when(ContractCommand::Dispatch {
            contract: contract(),
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 9, 0),
        })
        .then_error(ContractError::DateOutOfOrder {
            contract: contract(),
            call: call(1),
            action: "the dispatch",
            at: at(0, 9, 0),
            earliest: at(0, 10, 0),
        });
}

#[test]
fn a_priority_change_recomputes_deadlines_from_the_original_start_and_breaches_stay() {
    let mut history = active(ContractKind::Warranty, Entitlements::default());
    history.extend([
        opened(CallKind::Breakdown),
        ContractEvent::TechnicianDispatched {
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 11, 30),
        },
        ContractEvent::SlaBreached {
            call: call(1),
            target: SlaTarget::Response,
            by_seconds: 1_800,
        },
    ]);
    let state = given::<ServiceContract>(history)
        .when(ContractCommand::ChangePriority {
            contract: contract(),
            call: call(1),
            priority: Priority::Normal,
            reason: "customer has a spare".into(),
            at: at(0, 12, 0),
        })
        .then_events([ContractEvent::CallPriorityChanged {
            call: call(1),
            priority: Priority::Normal,
            reason: "customer has a spare".into(),
            deadlines: Deadlines {
                response: at(0, 14, 0),
                arrival: at(1, 10, 0),
                resolution: at(2, 10, 0),
            },
            at: at(0, 12, 0),
        }]);
    assert!(
        state.calls[&call(1)]
            .breaches
            .contains(&SlaTarget::Response),
        "a breach is never undone"
    );
}

#[test]
fn overdue_targets_are_derived_from_the_time_asked() {
    let state = ServiceContract::fold(&{
        let mut history = active(ContractKind::Warranty, Entitlements::default());
        history.push(opened(CallKind::Breakdown));
        history
    });
    let found = &state.calls[&call(1)];
    assert!(found.overdue_at(at(0, 11, 0)).is_empty());
    assert_eq!(
        found.overdue_at(at(0, 14, 30)),
        vec![SlaTarget::Response, SlaTarget::Arrival]
    );
}

// --- S4, S6 ------------------------------------------------------------------------------------

#[test]
fn under_warranty_the_seller_pays_and_the_customer_is_charged_nothing() {
    given::<ServiceContract>(arrived(CallKind::Breakdown, ContractKind::Warranty))
        .when(resolve(20_000, false, at(0, 16, 0)))
        .then_events([resolved(20_000, Payer::Seller, 0, at(0, 16, 0))]);
}

#[test]
fn post_warranty_entitlements_decide_who_pays_and_a_charge_needs_acceptance() {
    given::<ServiceContract>(arrived(CallKind::Breakdown, ContractKind::PostWarranty))
        .when(resolve(20_000, false, at(0, 16, 0)))
        .then_events([resolved(20_000, Payer::Seller, 0, at(0, 16, 0))]);
    given::<ServiceContract>(arrived(CallKind::Consultation, ContractKind::PostWarranty))
        .when(resolve(5_000, false, at(0, 16, 0)))
        .then_error(ContractError::ChargeNotAccepted {
            contract: contract(),
            call: call(1),
            cost: Money::new(5_000, eur()),
        });
    given::<ServiceContract>(arrived(CallKind::Consultation, ContractKind::PostWarranty))
        .when(resolve(5_000, true, at(0, 16, 0)))
        .then_events([resolved(5_000, Payer::Customer, 5_000, at(0, 16, 0))]);
}

#[test]
fn training_hours_beyond_the_years_entitlement_are_charged() {
    let train = |hours| ContractCommand::Resolve {
        contract: contract(),
        call: call(1),
        work: "operator course".into(),
        parts: Vec::new(),
        training_hours: hours,
        cost: Money::new(30_000, eur()),
        customer_accepts_charge: true,
        at: at(0, 16, 0),
    };
    let outcome = |payer, charge| ContractEvent::CallResolved {
        call: call(1),
        work: "operator course".into(),
        parts: Vec::new(),
        training_hours: 8,
        cost: Money::new(30_000, eur()),
        payer,
        customer_charge: Money::new(charge, eur()),
        at: at(0, 16, 0),
    };
    given::<ServiceContract>(arrived(CallKind::Training, ContractKind::PostWarranty))
        .when(train(8))
        .then_events([outcome(Payer::Seller, 0)]);
    let mut used = arrived(CallKind::Training, ContractKind::PostWarranty);
    used.insert(
        2,
        ContractEvent::CallResolved {
            call: call(9),
            work: "earlier course".into(),
            parts: Vec::new(),
            training_hours: 1,
            cost: Money::new(0, eur()),
            payer: Payer::Seller,
            customer_charge: Money::new(0, eur()),
            at: at(0, 9, 0),
        },
    );
    given::<ServiceContract>(used)
        .when(train(8))
        .then_events([outcome(Payer::Customer, 30_000)]);
}

#[test]
fn an_on_demand_call_is_paid_by_the_customer() {
    let mut history = vec![
        proposed(ContractKind::OnDemand, Entitlements::default()),
        ContractEvent::Activated { at: at(-1, 9, 0) },
    ];
    history.extend([
        opened(CallKind::Breakdown),
        ContractEvent::TechnicianDispatched {
            call: call(1),
            technician: technician(),
            parts: Vec::new(),
            at: at(0, 10, 30),
        },
        ContractEvent::TechnicianArrived {
            call: call(1),
            at: at(0, 12, 0),
        },
    ]);
    given::<ServiceContract>(history)
        .when(resolve(12_000, true, at(0, 16, 0)))
        .then_events([resolved(12_000, Payer::Customer, 12_000, at(0, 16, 0))]);
}

#[test]
fn a_cost_in_another_currency_or_negative_is_rejected() {
    let mut other_currency = resolve(1, true, at(0, 16, 0));
    if let ContractCommand::Resolve { cost, .. } = &mut other_currency {
        *cost = Money::new(1, Currency::new("RUB").unwrap());
    }
    given::<ServiceContract>(arrived(CallKind::Breakdown, ContractKind::Warranty))
        .when(other_currency)
        .then_error(ContractError::BadCost {
            contract: contract(),
            currency: eur(),
            cost: Money::new(1, Currency::new("RUB").unwrap()),
        });
    given::<ServiceContract>(arrived(CallKind::Breakdown, ContractKind::Warranty))
        .when(resolve(-1, true, at(0, 16, 0)))
        .then_error(ContractError::BadCost {
            contract: contract(),
            currency: eur(),
            cost: Money::new(-1, eur()),
        });
}

// --- S5 ----------------------------------------------------------------------------------------

#[test]
fn a_preventive_visit_is_performed_or_missed_by_its_window() {
    let mut history = active(ContractKind::PostWarranty, entitlements());
    history.push(ContractEvent::VisitScheduled {
        visit: 1,
        due: date(2026, 9, 1),
        window_days: 10,
    });
    let state = ServiceContract::fold(&history);
    let visit = state.visits[&1];
    assert_eq!(visit.status(date(2026, 8, 21)), VisitStatus::Upcoming);
    assert_eq!(visit.status(date(2026, 8, 22)), VisitStatus::Due);
    assert_eq!(visit.status(date(2026, 9, 11)), VisitStatus::Due);
    assert_eq!(
        visit.status(date(2026, 9, 12)),
        VisitStatus::Missed,
        "derived from the date"
    );
    let performed = Utc
        .with_ymd_and_hms(2026, 9, 3, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let state = given::<ServiceContract>(history.clone())
        .when(ContractCommand::PerformVisit {
            contract: contract(),
            visit: 1,
            at: performed,
        })
        .then_events([ContractEvent::VisitPerformed {
            visit: 1,
            at: performed,
        }]);
    assert_eq!(
        state.visits[&1].status(date(2027, 1, 1)),
        VisitStatus::Performed
    );
    history.push(ContractEvent::VisitPerformed {
        visit: 1,
        at: performed,
    });
    given::<ServiceContract>(history)
        .when(ContractCommand::PerformVisit {
            contract: contract(),
            visit: 1,
            at: performed,
        })
        .then_error(ContractError::UnknownVisit {
            contract: contract(),
            visit: 1,
        });
}

#[test]
fn every_contract_event_round_trips_through_its_stable_name() {
    let mut events = arrived(CallKind::Breakdown, ContractKind::PostWarranty);
    events.extend([
        ContractEvent::VisitScheduled {
            visit: 1,
            due: date(2026, 9, 1),
            window_days: 3,
        },
        ContractEvent::VisitPerformed {
            visit: 1,
            at: at(1, 9, 0),
        },
        ContractEvent::Suspended {
            reason: "r".into(),
            at: at(1, 9, 0),
        },
        ContractEvent::Resumed { at: at(1, 9, 0) },
        ContractEvent::Renewed {
            until: date(2028, 1, 1),
            at: at(1, 9, 0),
        },
        ContractEvent::Cancelled {
            reason: "r".into(),
            at: at(1, 9, 0),
        },
        ContractEvent::Expired { at: at(1, 9, 0) },
        ContractEvent::CallPriorityChanged {
            call: call(1),
            priority: Priority::High,
            reason: "r".into(),
            deadlines: critical_deadlines(),
            at: at(1, 9, 0),
        },
        resolved(1, Payer::Customer, 1, at(1, 9, 0)),
        ContractEvent::SlaBreached {
            call: call(1),
            target: SlaTarget::Arrival,
            by_seconds: 5,
        },
    ]);
    let names: std::collections::BTreeSet<_> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        names.len(),
        ContractEvent::catalogue().len(),
        "every event type is exercised"
    );
    laws::assert_upcast_stable(&events, &crate::kernel::EventDecoder::default());
}

// --- Laws --------------------------------------------------------------------------------------

fn arbitrary_contract_command() -> impl Strategy<Value = ContractCommand> {
    let when = (0i64..400, 6u32..20).prop_map(|(days, hour)| at(days, hour, 0));
    let kind = prop_oneof![
        Just(ContractKind::Warranty),
        Just(ContractKind::PostWarranty),
        Just(ContractKind::OnDemand)
    ];
    let priority = prop_oneof![
        Just(Priority::Critical),
        Just(Priority::Normal),
        Just(Priority::Low)
    ];
    let call_kind = prop_oneof![
        Just(CallKind::Breakdown),
        Just(CallKind::Consultation),
        Just(CallKind::Training)
    ];
    prop_oneof![
        1 => kind.prop_map(|kind| propose(kind, date(2026, 3, 1), date(2027, 2, 28), Some(date(2026, 2, 1)))),
        2 => when.clone().prop_map(|at| ContractCommand::Activate { contract: contract(), at }),
        1 => when.clone().prop_map(|at| ContractCommand::Suspend { contract: contract(), reason: "r".into(), at }),
        1 => when.clone().prop_map(|at| ContractCommand::Resume { contract: contract(), at }),
        1 => (0i64..800, when.clone()).prop_map(|(days, at)| ContractCommand::Renew {
            contract: contract(),
            until: date(2026, 6, 1) + Duration::days(days),
            at,
        }),
        4 => (0u128..3, priority.clone(), call_kind, when.clone())
            .prop_map(|(n, priority, kind, at)| open_call(n, priority, kind, at)),
        1 => (0u128..3, priority, when.clone()).prop_map(|(n, priority, at)| ContractCommand::ChangePriority {
            contract: contract(),
            call: call(n),
            priority,
            reason: "r".into(),
            at,
        }),
        3 => (0u128..3, when.clone()).prop_map(|(n, at)| ContractCommand::Dispatch {
            contract: contract(),
            call: call(n),
            technician: technician(),
            parts: Vec::new(),
            at,
        }),
        3 => (0u128..3, when.clone()).prop_map(|(n, at)| ContractCommand::Arrive { contract: contract(), call: call(n), at }),
        3 => (0u128..3, 0i64..50_000, any::<bool>(), 0u32..6, when.clone()).prop_map(|(n, cost, accepts, hours, at)| {
            ContractCommand::Resolve {
                contract: contract(),
                call: call(n),
                work: "w".into(),
                parts: Vec::new(),
                training_hours: hours,
                cost: Money::new(cost, eur()),
                customer_accepts_charge: accepts,
                at,
            }
        }),
        1 => (0u32..4, when.clone()).prop_map(|(visit, at)| ContractCommand::PerformVisit { contract: contract(), visit, at }),
        1 => when.clone().prop_map(|at| ContractCommand::Cancel { contract: contract(), reason: "r".into(), at }),
        1 => when.prop_map(|at| ContractCommand::Expire { contract: contract(), at }),
    ]
}

/// S3 and S4 as invariants after every accepted command.
fn contract_invariant(state: &ContractState) -> Result<(), String> {
    for (id, call) in &state.calls {
        if call.arrived_at.is_some() && call.dispatched.is_none() {
            return Err(format!("call {id} arrived without a dispatch"));
        }
        if call.resolved.is_some() && call.arrived_at.is_none() {
            return Err(format!("call {id} resolved before arrival"));
        }
        if call.deadlines.response > call.deadlines.resolution {
            return Err(format!("call {id}: responds after it must be resolved"));
        }
        if let Some((_, Payer::Seller, charge)) = call.resolved {
            if charge.minor_units != 0 {
                return Err(format!(
                    "call {id}: the seller pays but the customer is charged"
                ));
            }
        }
    }
    if let Some(terms) = &state.terms {
        if terms.end < terms.start {
            return Err("a term that ends before it starts".into());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn service_contract_obeys_the_domain_laws(commands in proptest::collection::vec(arbitrary_contract_command(), 0..40)) {
        laws::check_command_sequence::<ServiceContract>(&commands, contract_invariant);
        laws::assert_replay_deterministic::<ServiceContract>(&commands);
    }

    #[test]
    fn a_contract_snapshot_plus_its_tail_equals_the_full_fold(
        commands in proptest::collection::vec(arbitrary_contract_command(), 0..40),
    ) {
        let (_, history) = laws::decide_all::<ServiceContract>(&commands);
        laws::assert_snapshot_equivalence::<ServiceContract>(&history);
    }
}

#[test]
fn proposing_twice_or_acting_on_a_contract_never_proposed_is_rejected() {
    given::<ServiceContract>([proposed(ContractKind::Warranty, Entitlements::default())])
        .when(propose(
            ContractKind::Warranty,
            date(2026, 3, 1),
            date(2027, 2, 28),
            None,
        ))
        .then_error(ContractError::AlreadyProposed {
            contract: contract(),
        });
    given::<ServiceContract>([])
        .when(ContractCommand::Activate {
            contract: contract(),
            at: at(0, 9, 0),
        })
        .then_error(ContractError::NotProposed {
            contract: contract(),
        });
}

#[test]
fn steps_on_an_unknown_call_are_rejected_naming_it() {
    given::<ServiceContract>(active(ContractKind::Warranty, Entitlements::default()))
        .when(ContractCommand::Arrive {
            contract: contract(),
            call: call(9),
            at: at(0, 12, 0),
        })
        .then_error(ContractError::UnknownCall {
            contract: contract(),
            call: call(9),
        });
}

#[test]
fn suspending_cancelling_or_resolving_without_words_is_rejected() {
    let history = active(ContractKind::Warranty, Entitlements::default());
    given::<ServiceContract>(history.clone())
        .when(ContractCommand::Suspend {
            contract: contract(),
            reason: " ".into(),
            at: at(1, 9, 0),
        })
        .then_error(ContractError::EmptyText {
            contract: contract(),
            field: "a reason",
        });
    given::<ServiceContract>(history)
        .when(ContractCommand::Cancel {
            contract: contract(),
            reason: String::new(),
            at: at(1, 9, 0),
        })
        .then_error(ContractError::EmptyText {
            contract: contract(),
            field: "a reason",
        });
    let mut no_work = resolve(0, false, at(0, 16, 0));
    if let ContractCommand::Resolve { work, .. } = &mut no_work {
        work.clear();
    }
    given::<ServiceContract>(arrived(CallKind::Breakdown, ContractKind::Warranty))
        .when(no_work)
        .then_error(ContractError::EmptyText {
            contract: contract(),
            field: "the work done",
        });
}

#[test]
fn a_call_whose_calendar_has_no_working_time_is_rejected() {
    let mut history = active(ContractKind::Warranty, Entitlements::default());
    if let ContractEvent::Proposed { terms, .. } = &mut history[0] {
        // Open one hour on Mondays only: a target of years cannot be met within the search.
        let hour = |h| chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
        terms.plan.calendar =
            BusinessCalendar::new([chrono::Weekday::Mon], hour(9), hour(10), [], 0).unwrap();
        terms.plan.targets.insert(
            Priority::Low,
            Targets {
                response_minutes: 60,
                arrival_minutes: 60,
                resolution_minutes: u32::MAX,
            },
        );
    }
    given::<ServiceContract>(history)
        .when(open_call(
            1,
            Priority::Low,
            CallKind::Breakdown,
            at(0, 9, 0),
        ))
        .then_error(ContractError::NoBusinessTime {
            contract: contract(),
        });
}
