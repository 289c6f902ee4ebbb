use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::kernel::testing::{given, laws};
use crate::kernel::Event;
use crate::testing::time::{date_of_day, day};

fn customer() -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::from_u128(1))
}

fn product(n: u128) -> ProductId {
    ProductId::from_uuid(uuid::Uuid::from_u128(100 + n))
}

fn owner() -> AccountOwnerId {
    AccountOwnerId::from_uuid(uuid::Uuid::from_u128(7))
}

fn registered(level: RelationshipLevel) -> CustomerEvent {
    CustomerEvent::Registered {
        customer: customer(),
        target_group: TargetGroup::Household,
        level,
        terms: OutreachTerms::default(),
        at: day(0),
    }
}

fn at_level(level: RelationshipLevel) -> Vec<CustomerEvent> {
    let mut history = vec![registered(RelationshipLevel::Basic)];
    if level > RelationshipLevel::Basic {
        history.push(CustomerEvent::LevelChanged {
            from: RelationshipLevel::Basic,
            to: level,
            reason: "promised".into(),
            account_owner: (level == RelationshipLevel::Partnership).then(owner),
            at: day(0),
        });
    }
    history
}

/// A Basic customer raised to Proactive on day `n`, with the first outreach the raise opened
/// (due 90 days later), as the decider records it.
fn raised_to_proactive_on(n: i64) -> Vec<CustomerEvent> {
    let mut history = at_level(RelationshipLevel::Basic);
    history.push(CustomerEvent::LevelChanged {
        from: RelationshipLevel::Basic,
        to: RelationshipLevel::Proactive,
        reason: "r".into(),
        account_owner: None,
        at: day(n),
    });
    history.push(CustomerEvent::ObligationOpened {
        obligation: 1,
        kind: ObligationKind::Outreach,
        due: Some(date_of_day(n + 90)),
        at: day(n),
    });
    history
}

// --- C1 ----------------------------------------------------------------------------------------

#[test]
fn registering_a_customer_defaults_to_basic_and_opens_no_duty() {
    let state = given::<Customer>([])
        .when(CustomerCommand::Register {
            customer: customer(),
            target_group: TargetGroup::Household,
            level: RelationshipLevel::default(),
            account_owner: None,
            terms: OutreachTerms::default(),
            at: day(0),
        })
        .then_events([registered(RelationshipLevel::Basic)]);
    assert_eq!(state.level, RelationshipLevel::Basic);
    assert!(state.obligations.is_empty());
}

#[test]
fn registering_at_proactive_opens_the_first_outreach() {
    given::<Customer>([])
        .when(CustomerCommand::Register {
            customer: customer(),
            target_group: TargetGroup::Named("fleet operators".into()),
            level: RelationshipLevel::Proactive,
            account_owner: None,
            terms: OutreachTerms::default(),
            at: day(0),
        })
        .then_events([
            CustomerEvent::Registered {
                customer: customer(),
                target_group: TargetGroup::Named("fleet operators".into()),
                level: RelationshipLevel::Proactive,
                terms: OutreachTerms::default(),
                at: day(0),
            },
            CustomerEvent::LevelChanged {
                from: RelationshipLevel::Basic,
                to: RelationshipLevel::Proactive,
                reason: "promised at registration".into(),
                account_owner: None,
                at: day(0),
            },
            CustomerEvent::ObligationOpened {
                obligation: 1,
                kind: ObligationKind::Outreach,
                due: Some(date_of_day(90)),
                at: day(0),
            },
        ]);
}

#[test]
fn registering_twice_or_with_empty_windows_is_rejected() {
    let register = |terms| CustomerCommand::Register {
        customer: customer(),
        target_group: TargetGroup::Enterprise,
        level: RelationshipLevel::Basic,
        account_owner: None,
        terms,
        at: day(1),
    };
    given::<Customer>([registered(RelationshipLevel::Basic)])
        .when(register(OutreachTerms::default()))
        .then_error(CustomerError::AlreadyRegistered {
            customer: customer(),
        });
    given::<Customer>([])
        .when(register(OutreachTerms {
            accountable_window_days: 0,
            ..OutreachTerms::default()
        }))
        .then_error(CustomerError::EmptyWindow {
            customer: customer(),
        });
}

#[test]
fn commands_for_an_unregistered_or_other_customer_are_rejected() {
    given::<Customer>([])
        .when(CustomerCommand::LogInquiry {
            customer: customer(),
            topic: "price".into(),
            at: day(1),
        })
        .then_error(CustomerError::NotRegistered {
            customer: customer(),
        });
    let stranger = CustomerId::from_uuid(uuid::Uuid::from_u128(2));
    given::<Customer>([registered(RelationshipLevel::Basic)])
        .when(CustomerCommand::EraseData {
            customer: stranger,
            at: day(1),
        })
        .then_error(CustomerError::WrongCustomer {
            command: stranger,
            stream: customer(),
        });
}

// --- C2 ----------------------------------------------------------------------------------------

#[test]
fn a_partnership_needs_an_account_owner_and_opens_outreach_and_joint_review() {
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::ChangeLevel {
            customer: customer(),
            level: RelationshipLevel::Partnership,
            reason: "key account".into(),
            account_owner: None,
            at: day(1),
        })
        .then_error(CustomerError::PartnershipWithoutAccountOwner {
            customer: customer(),
        });
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::ChangeLevel {
            customer: customer(),
            level: RelationshipLevel::Partnership,
            reason: "key account".into(),
            account_owner: Some(owner()),
            at: day(1),
        })
        .then_events([
            CustomerEvent::LevelChanged {
                from: RelationshipLevel::Basic,
                to: RelationshipLevel::Partnership,
                reason: "key account".into(),
                account_owner: Some(owner()),
                at: day(1),
            },
            CustomerEvent::ObligationOpened {
                obligation: 1,
                kind: ObligationKind::Outreach,
                due: Some(date_of_day(91)),
                at: day(1),
            },
            CustomerEvent::ObligationOpened {
                obligation: 2,
                kind: ObligationKind::JointReview,
                due: Some(NaiveDate::from_ymd_opt(2026, 6, 2).unwrap_or_default()),
                at: day(1),
            },
        ]);
}

#[test]
fn lowering_the_level_withdraws_periodic_duties_but_keeps_history() {
    let state = given::<Customer>(raised_to_proactive_on(1))
        .when(CustomerCommand::ChangeLevel {
            customer: customer(),
            level: RelationshipLevel::Reactive,
            reason: "margin fell".into(),
            account_owner: None,
            at: day(10),
        })
        .then_events([
            CustomerEvent::LevelChanged {
                from: RelationshipLevel::Proactive,
                to: RelationshipLevel::Reactive,
                reason: "margin fell".into(),
                account_owner: None,
                at: day(10),
            },
            CustomerEvent::ObligationWithdrawn {
                obligation: 1,
                at: day(10),
            },
        ]);
    assert_eq!(
        state.obligation_status(1, date_of_day(200)),
        Some(ObligationStatus::Withdrawn)
    );
}

#[test]
fn changing_to_the_same_level_records_nothing() {
    given::<Customer>(at_level(RelationshipLevel::Reactive))
        .when(CustomerCommand::ChangeLevel {
            customer: customer(),
            level: RelationshipLevel::Reactive,
            reason: "again".into(),
            account_owner: None,
            at: day(3),
        })
        .then_no_events();
}

#[test]
fn kotler_recommends_levels_by_customer_base_and_margin_without_enforcing_them() {
    assert_eq!(
        recommended_level(CustomerBase::Many, Margin::Low),
        RelationshipLevel::Basic
    );
    assert_eq!(
        recommended_level(CustomerBase::Medium, Margin::Medium),
        RelationshipLevel::Accountable
    );
    assert_eq!(
        recommended_level(CustomerBase::Few, Margin::High),
        RelationshipLevel::Partnership
    );
}

// --- C3 ----------------------------------------------------------------------------------------

#[test]
fn an_accountable_customers_purchase_opens_one_follow_up_due_within_the_window() {
    let state = given::<Customer>(at_level(RelationshipLevel::Accountable))
        .when(CustomerCommand::RecordPurchase {
            customer: customer(),
            product: product(1),
            at: day(3),
        })
        .then_events([
            CustomerEvent::PurchaseRecorded {
                product: product(1),
                at: day(3),
            },
            CustomerEvent::ObligationOpened {
                obligation: 1,
                kind: ObligationKind::PurchaseFollowUp {
                    product: product(1),
                },
                due: Some(date_of_day(10)),
                at: day(3),
            },
        ]);
    assert_eq!(
        state.obligation_status(1, date_of_day(10)),
        Some(ObligationStatus::Open),
        "due day inclusive"
    );
    assert_eq!(
        state.obligation_status(1, date_of_day(11)),
        Some(ObligationStatus::Missed),
        "derived from the date"
    );
}

#[test]
fn a_basic_customers_purchase_opens_no_duty_and_recording_it_again_records_nothing() {
    let history = {
        let mut history = at_level(RelationshipLevel::Basic);
        history.push(CustomerEvent::PurchaseRecorded {
            product: product(1),
            at: day(3),
        });
        history
    };
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::RecordPurchase {
            customer: customer(),
            product: product(1),
            at: day(3),
        })
        .then_events([CustomerEvent::PurchaseRecorded {
            product: product(1),
            at: day(3),
        }]);
    given::<Customer>(history)
        .when(CustomerCommand::RecordPurchase {
            customer: customer(),
            product: product(1),
            at: day(4),
        })
        .then_no_events();
}

// --- C4 ----------------------------------------------------------------------------------------

#[test]
fn at_reactive_an_inquiry_is_an_obligation_until_answered() {
    let logged = [
        CustomerEvent::InquiryLogged {
            inquiry: 1,
            kind: InquiryKind::Question,
            topic: "spare filter".into(),
            at: day(2),
        },
        CustomerEvent::ObligationOpened {
            obligation: 1,
            kind: ObligationKind::AnswerInquiry { inquiry: 1 },
            due: None,
            at: day(2),
        },
    ];
    given::<Customer>(at_level(RelationshipLevel::Reactive))
        .when(CustomerCommand::LogInquiry {
            customer: customer(),
            topic: " spare filter ".into(),
            at: day(2),
        })
        .then_events(logged.clone());
    let mut history = at_level(RelationshipLevel::Reactive);
    history.extend(logged);
    let state = given::<Customer>(history)
        .when(CustomerCommand::AnswerInquiry {
            customer: customer(),
            inquiry: 1,
            at: day(3),
        })
        .then_events([
            CustomerEvent::InquiryAnswered {
                inquiry: 1,
                at: day(3),
            },
            CustomerEvent::ObligationFulfilled {
                obligation: 1,
                at: day(3),
            },
        ]);
    assert_eq!(
        state.obligation_status(1, date_of_day(300)),
        Some(ObligationStatus::Done)
    );
}

#[test]
fn at_basic_a_complaint_is_logged_but_is_no_obligation() {
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::LogComplaint {
            customer: customer(),
            topic: "noisy".into(),
            at: day(2),
        })
        .then_events([CustomerEvent::InquiryLogged {
            inquiry: 1,
            kind: InquiryKind::Complaint,
            topic: "noisy".into(),
            at: day(2),
        }]);
}

#[test]
fn answering_an_unknown_or_answered_inquiry_or_logging_an_empty_one_is_rejected() {
    given::<Customer>(at_level(RelationshipLevel::Reactive))
        .when(CustomerCommand::AnswerInquiry {
            customer: customer(),
            inquiry: 4,
            at: day(3),
        })
        .then_error(CustomerError::UnknownInquiry {
            customer: customer(),
            inquiry: 4,
        });
    let mut history = at_level(RelationshipLevel::Basic);
    history.push(CustomerEvent::InquiryLogged {
        inquiry: 1,
        kind: InquiryKind::Question,
        topic: "q".into(),
        at: day(2),
    });
    history.push(CustomerEvent::InquiryAnswered {
        inquiry: 1,
        at: day(3),
    });
    given::<Customer>(history)
        .when(CustomerCommand::AnswerInquiry {
            customer: customer(),
            inquiry: 1,
            at: day(4),
        })
        .then_error(CustomerError::InquiryAlreadyAnswered {
            customer: customer(),
            inquiry: 1,
        });
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::LogInquiry {
            customer: customer(),
            topic: "  ".into(),
            at: day(2),
        })
        .then_error(CustomerError::BadText {
            customer: customer(),
            field: "an inquiry's topic",
            min: 1,
        });
}

#[test]
fn consultations_and_demonstrations_are_recorded() {
    let model = ModelId::from_uuid(uuid::Uuid::from_u128(5));
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::RecordConsultation {
            customer: customer(),
            topic: "energy use".into(),
            at: day(1),
        })
        .then_events([CustomerEvent::ConsultationRecorded {
            topic: "energy use".into(),
            at: day(1),
        }]);
    let state = given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::RecordDemonstration {
            customer: customer(),
            model,
            at: day(1),
        })
        .then_events([CustomerEvent::DemonstrationRecorded { model, at: day(1) }]);
    assert_eq!(state.demonstrations, 1);
}

// --- C5 ----------------------------------------------------------------------------------------

#[test]
fn substitutes_and_related_products_are_offered_and_their_acceptance_counted() {
    let wanted = ModelId::from_uuid(uuid::Uuid::from_u128(5));
    let other = ModelId::from_uuid(uuid::Uuid::from_u128(6));
    let state = given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::OfferSubstitute {
            customer: customer(),
            requested: wanted,
            offered: Substitute::Model(other),
            accepted: true,
            at: day(1),
        })
        .then_events([CustomerEvent::SubstituteOffered {
            requested: wanted,
            offered: Substitute::Model(other),
            accepted: true,
            at: day(1),
        }]);
    assert_eq!(state.substitutes_offered, (1, 1));
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::OfferRelatedProduct {
            customer: customer(),
            model: other,
            accepted: false,
            at: day(1),
        })
        .then_events([CustomerEvent::RelatedProductOffered {
            model: other,
            accepted: false,
            at: day(1),
        }]);
    given::<Customer>(at_level(RelationshipLevel::Basic))
        .when(CustomerCommand::OfferSubstitute {
            customer: customer(),
            requested: wanted,
            offered: Substitute::Model(wanted),
            accepted: false,
            at: day(1),
        })
        .then_error(CustomerError::SubstituteIsTheRequestedModel {
            customer: customer(),
            model: wanted,
        });
}

// --- C6 ----------------------------------------------------------------------------------------

fn with_follow_up() -> Vec<CustomerEvent> {
    let mut history = at_level(RelationshipLevel::Accountable);
    history.push(CustomerEvent::PurchaseRecorded {
        product: product(1),
        at: day(3),
    });
    history.push(CustomerEvent::ObligationOpened {
        obligation: 1,
        kind: ObligationKind::PurchaseFollowUp {
            product: product(1),
        },
        due: Some(date_of_day(10)),
        at: day(3),
    });
    history
}

#[test]
fn completing_a_follow_up_closes_it_and_a_complaint_raised_becomes_an_open_inquiry() {
    let state = given::<Customer>(with_follow_up())
        .when(CustomerCommand::CompleteFollowUp {
            customer: customer(),
            obligation: 1,
            impressions: "works well".into(),
            complaints: "door squeaks".into(),
            suggestions: String::new(),
            at: day(5),
        })
        .then_events([
            CustomerEvent::FollowUpCompleted {
                obligation: 1,
                impressions: "works well".into(),
                complaints: "door squeaks".into(),
                suggestions: String::new(),
                at: day(5),
            },
            CustomerEvent::ObligationFulfilled {
                obligation: 1,
                at: day(5),
            },
            CustomerEvent::InquiryLogged {
                inquiry: 1,
                kind: InquiryKind::Complaint,
                topic: "door squeaks".into(),
                at: day(5),
            },
            CustomerEvent::ObligationOpened {
                obligation: 2,
                kind: ObligationKind::AnswerInquiry { inquiry: 1 },
                due: None,
                at: day(5),
            },
        ]);
    assert_eq!(
        state.obligation_status(1, date_of_day(30)),
        Some(ObligationStatus::Done)
    );
    assert_eq!(
        state.obligation_status(2, date_of_day(30)),
        Some(ObligationStatus::Open)
    );
}

#[test]
fn completing_an_unknown_closed_or_other_obligation_is_rejected() {
    let complete = |obligation| CustomerCommand::CompleteFollowUp {
        customer: customer(),
        obligation,
        impressions: String::new(),
        complaints: String::new(),
        suggestions: String::new(),
        at: day(6),
    };
    given::<Customer>(with_follow_up())
        .when(complete(9))
        .then_error(CustomerError::UnknownObligation {
            customer: customer(),
            obligation: 9,
        });
    let mut done = with_follow_up();
    done.push(CustomerEvent::ObligationFulfilled {
        obligation: 1,
        at: day(5),
    });
    given::<Customer>(done)
        .when(complete(1))
        .then_error(CustomerError::ObligationClosed {
            customer: customer(),
            obligation: 1,
        });
    let mut inquiry = at_level(RelationshipLevel::Reactive);
    inquiry.push(CustomerEvent::InquiryLogged {
        inquiry: 1,
        kind: InquiryKind::Question,
        topic: "q".into(),
        at: day(2),
    });
    inquiry.push(CustomerEvent::ObligationOpened {
        obligation: 1,
        kind: ObligationKind::AnswerInquiry { inquiry: 1 },
        due: None,
        at: day(2),
    });
    given::<Customer>(inquiry)
        .when(complete(1))
        .then_error(CustomerError::NotAFollowUp {
            customer: customer(),
            obligation: 1,
            kind: ObligationKind::AnswerInquiry { inquiry: 1 },
        });
}

// --- Proactive and partnership duties ----------------------------------------------------------

#[test]
fn outreach_fulfils_the_open_one_and_schedules_the_next() {
    let state = given::<Customer>(raised_to_proactive_on(0))
        .when(CustomerCommand::MakeOutreach {
            customer: customer(),
            topic: "post-warranty contract".into(),
            at: day(60),
        })
        .then_events([
            CustomerEvent::OutreachMade {
                topic: "post-warranty contract".into(),
                at: day(60),
            },
            CustomerEvent::ObligationFulfilled {
                obligation: 1,
                at: day(60),
            },
            CustomerEvent::ObligationOpened {
                obligation: 2,
                kind: ObligationKind::Outreach,
                due: Some(date_of_day(150)),
                at: day(60),
            },
        ]);
    assert_eq!(
        state.obligation_status(2, date_of_day(151)),
        Some(ObligationStatus::Missed)
    );
}

#[test]
fn joint_reviews_are_for_partnerships_only() {
    given::<Customer>(at_level(RelationshipLevel::Proactive))
        .when(CustomerCommand::HoldJointReview {
            customer: customer(),
            at: day(30),
        })
        .then_error(CustomerError::NotAPartner {
            customer: customer(),
            level: RelationshipLevel::Proactive,
        });
}

#[test]
fn a_warranty_outreach_is_scheduled_once_per_unit_and_only_for_proactive_customers() {
    let schedule = CustomerCommand::ScheduleWarrantyOutreach {
        customer: customer(),
        product: product(1),
        due: date_of_day(300),
        at: day(270),
    };
    given::<Customer>(at_level(RelationshipLevel::Accountable))
        .when(schedule.clone())
        .then_no_events();
    let opened = CustomerEvent::ObligationOpened {
        obligation: 1,
        kind: ObligationKind::PostWarrantyOffer {
            product: product(1),
        },
        due: Some(date_of_day(300)),
        at: day(270),
    };
    let mut proactive = at_level(RelationshipLevel::Proactive);
    given::<Customer>(proactive.clone())
        .when(schedule.clone())
        .then_events([opened.clone()]);
    proactive.push(opened);
    given::<Customer>(proactive).when(schedule).then_no_events();
}

// --- C7 ----------------------------------------------------------------------------------------

#[test]
fn erasing_personal_data_is_recorded_once_and_keeps_the_history() {
    let state = given::<Customer>(with_follow_up())
        .when(CustomerCommand::EraseData {
            customer: customer(),
            at: day(9),
        })
        .then_events([CustomerEvent::PersonalDataErased { at: day(9) }]);
    assert!(state.personal_data_erased);
    assert!(state.purchases.contains(&product(1)), "the history stays");
    let mut erased = with_follow_up();
    erased.push(CustomerEvent::PersonalDataErased { at: day(9) });
    given::<Customer>(erased)
        .when(CustomerCommand::EraseData {
            customer: customer(),
            at: day(10),
        })
        .then_no_events();
}

#[test]
fn every_customer_event_round_trips_through_its_stable_name() {
    let model = ModelId::from_uuid(uuid::Uuid::from_u128(5));
    let events = vec![
        registered(RelationshipLevel::Basic),
        CustomerEvent::LevelChanged {
            from: RelationshipLevel::Basic,
            to: RelationshipLevel::Partnership,
            reason: "r".into(),
            account_owner: Some(owner()),
            at: day(1),
        },
        CustomerEvent::PurchaseRecorded {
            product: product(1),
            at: day(1),
        },
        CustomerEvent::ObligationOpened {
            obligation: 1,
            kind: ObligationKind::JointReview,
            due: Some(date_of_day(3)),
            at: day(1),
        },
        CustomerEvent::ObligationFulfilled {
            obligation: 1,
            at: day(2),
        },
        CustomerEvent::ObligationWithdrawn {
            obligation: 1,
            at: day(2),
        },
        CustomerEvent::InquiryLogged {
            inquiry: 1,
            kind: InquiryKind::Complaint,
            topic: "t".into(),
            at: day(2),
        },
        CustomerEvent::InquiryAnswered {
            inquiry: 1,
            at: day(2),
        },
        CustomerEvent::ConsultationRecorded {
            topic: "t".into(),
            at: day(2),
        },
        CustomerEvent::DemonstrationRecorded { model, at: day(2) },
        CustomerEvent::SubstituteOffered {
            requested: model,
            offered: Substitute::Unit(product(2)),
            accepted: false,
            at: day(2),
        },
        CustomerEvent::RelatedProductOffered {
            model,
            accepted: true,
            at: day(2),
        },
        CustomerEvent::FollowUpCompleted {
            obligation: 1,
            impressions: "i".into(),
            complaints: String::new(),
            suggestions: "s".into(),
            at: day(2),
        },
        CustomerEvent::OutreachMade {
            topic: "t".into(),
            at: day(2),
        },
        CustomerEvent::JointReviewHeld { at: day(2) },
        CustomerEvent::PersonalDataErased { at: day(2) },
    ];
    let names: std::collections::BTreeSet<_> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        names.len(),
        CustomerEvent::catalogue().len(),
        "every event type is exercised"
    );
    laws::assert_upcast_stable(&events, &crate::kernel::EventDecoder::default());
}

// --- Laws --------------------------------------------------------------------------------------

fn arbitrary_level() -> impl Strategy<Value = RelationshipLevel> {
    prop_oneof![
        Just(RelationshipLevel::Basic),
        Just(RelationshipLevel::Reactive),
        Just(RelationshipLevel::Accountable),
        Just(RelationshipLevel::Proactive),
        Just(RelationshipLevel::Partnership),
    ]
}

fn arbitrary_customer_command() -> impl Strategy<Value = CustomerCommand> {
    let customer = customer();
    let at = (0i64..400).prop_map(day);
    let text = prop_oneof![
        Just(String::new()),
        Just("topic".to_owned()),
        Just(" x ".to_owned())
    ];
    let model = ModelId::from_uuid(uuid::Uuid::from_u128(5));
    prop_oneof![
        (arbitrary_level(), any::<bool>(), at.clone()).prop_map(move |(level, with_owner, at)| {
            CustomerCommand::Register {
                customer,
                target_group: TargetGroup::SmallBusiness,
                level,
                account_owner: with_owner.then(owner),
                terms: OutreachTerms::default(),
                at,
            }
        }),
        (arbitrary_level(), any::<bool>(), at.clone()).prop_map(move |(level, with_owner, at)| {
            CustomerCommand::ChangeLevel {
                customer,
                level,
                reason: "review".into(),
                account_owner: with_owner.then(owner),
                at,
            }
        }),
        (0u128..3, at.clone()).prop_map(move |(n, at)| CustomerCommand::RecordPurchase {
            customer,
            product: product(n),
            at
        }),
        (text.clone(), at.clone()).prop_map(move |(topic, at)| CustomerCommand::LogInquiry {
            customer,
            topic,
            at
        }),
        (text.clone(), at.clone()).prop_map(move |(topic, at)| CustomerCommand::LogComplaint {
            customer,
            topic,
            at
        }),
        (0u32..4, at.clone()).prop_map(move |(inquiry, at)| CustomerCommand::AnswerInquiry {
            customer,
            inquiry,
            at
        }),
        (text.clone(), at.clone()).prop_map(move |(topic, at)| {
            CustomerCommand::RecordConsultation {
                customer,
                topic,
                at,
            }
        }),
        at.clone()
            .prop_map(move |at| CustomerCommand::RecordDemonstration {
                customer,
                model,
                at
            }),
        (any::<bool>(), at.clone()).prop_map(move |(accepted, at)| {
            CustomerCommand::OfferSubstitute {
                customer,
                requested: model,
                offered: Substitute::Unit(product(9)),
                accepted,
                at,
            }
        }),
        (0u32..5, text.clone(), at.clone()).prop_map(move |(obligation, complaints, at)| {
            CustomerCommand::CompleteFollowUp {
                customer,
                obligation,
                impressions: "fine".into(),
                complaints,
                suggestions: String::new(),
                at,
            }
        }),
        (text, at.clone()).prop_map(move |(topic, at)| CustomerCommand::MakeOutreach {
            customer,
            topic,
            at
        }),
        at.clone()
            .prop_map(move |at| CustomerCommand::HoldJointReview { customer, at }),
        (0u128..3, at.clone()).prop_map(move |(n, at)| CustomerCommand::ScheduleWarrantyOutreach {
            customer,
            product: product(n),
            due: at.date_naive() + Duration::days(30),
            at,
        }),
        at.prop_map(move |at| CustomerCommand::EraseData { customer, at }),
    ]
}

/// The invariants of §4 (docs/domain.md) that must hold after every accepted command.
fn customer_invariant(state: &CustomerState) -> Result<(), String> {
    if state.level == RelationshipLevel::Partnership && state.account_owner.is_none() {
        return Err("a partnership without an account owner".into());
    }
    let follow_ups = |product: &ProductId| {
        state
            .obligations
            .values()
            .filter(|obligation| {
                obligation.kind == ObligationKind::PurchaseFollowUp { product: *product }
            })
            .count()
    };
    if let Some(product) = state
        .purchases
        .iter()
        .find(|product| follow_ups(product) > 1)
    {
        return Err(format!("purchase {product} has more than one follow-up"));
    }
    for kind in [ObligationKind::Outreach, ObligationKind::JointReview] {
        let open = state
            .obligations
            .values()
            .filter(|obligation| obligation.kind == kind && obligation.is_open())
            .count();
        if open > 1 {
            return Err(format!("{open} open {kind:?} obligations"));
        }
    }
    let open_outreach = state.open_obligation(ObligationKind::Outreach).is_some();
    if open_outreach != (state.level >= RelationshipLevel::Proactive) {
        return Err(format!(
            "level {:?} with open outreach: {open_outreach}",
            state.level
        ));
    }
    Ok(())
}

proptest! {
    #[test]
    fn customer_obeys_the_domain_laws(commands in proptest::collection::vec(arbitrary_customer_command(), 0..40)) {
        laws::check_command_sequence::<Customer>(&commands, customer_invariant);
        laws::assert_replay_deterministic::<Customer>(&commands);
    }

    #[test]
    fn a_customer_snapshot_plus_its_tail_equals_the_full_fold(
        commands in proptest::collection::vec(arbitrary_customer_command(), 0..40),
    ) {
        let (_, history) = laws::decide_all::<Customer>(&commands);
        laws::assert_snapshot_equivalence::<Customer>(&history);
    }
}
