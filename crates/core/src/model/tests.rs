use proptest::prelude::*;

use super::*;
use crate::kernel::testing::{given, laws};
use crate::testing::time::day;
use crate::values::WarrantyStart;
use chrono::TimeZone;

fn model() -> ModelId {
    ModelId::from_uuid(uuid::Uuid::from_u128(7))
}

fn details(name: &str) -> ModelDetails {
    ModelDetails {
        name: name.to_owned(),
        manufacturer: "Volga Appliances".to_owned(),
        category: "washing machines".to_owned(),
        warranty: WarrantyTerms {
            months: 24,
            starts: WarrantyStart::OnInstallation,
        },
    }
}

fn introduced() -> Vec<ModelEvent> {
    vec![ModelEvent::Introduced {
        model: model(),
        details: details("WM-7"),
        at: day(0),
    }]
}

// --- M1: introduce once, with master data that a person can read --------------------------------

#[test]
fn a_model_enters_the_catalogue_with_its_master_data_trimmed() {
    let state = given::<Model>([])
        .when(ModelCommand::Introduce {
            model: model(),
            details: details("  WM-7  "),
            at: day(0),
        })
        .then_events(introduced());
    assert_eq!(state.details, Some(details("WM-7")));
    assert_eq!(state.discontinued, None);
}

#[test]
fn a_model_is_introduced_once_m1() {
    given::<Model>(introduced())
        .when(ModelCommand::Introduce {
            model: model(),
            details: details("WM-8"),
            at: day(1),
        })
        .then_error(ModelError::AlreadyIntroduced { model: model() });
}

#[test]
fn master_data_holds_one_to_two_hundred_characters_m1() {
    let longest = "я".repeat(MAX_MASTER_DATA_LEN);
    given::<Model>([])
        .when(ModelCommand::Introduce {
            model: model(),
            details: details(&longest),
            at: day(0),
        })
        .then_events([ModelEvent::Introduced {
            model: model(),
            details: details(&longest),
            at: day(0),
        }]);
    for (field, bad) in [
        (
            "name",
            ModelDetails {
                name: "   ".into(),
                ..details("x")
            },
        ),
        ("name", details(&"я".repeat(MAX_MASTER_DATA_LEN + 1))),
        (
            "manufacturer",
            ModelDetails {
                manufacturer: String::new(),
                ..details("x")
            },
        ),
        (
            "category",
            ModelDetails {
                category: "\t".into(),
                ..details("x")
            },
        ),
    ] {
        given::<Model>([])
            .when(ModelCommand::Introduce {
                model: model(),
                details: bad,
                at: day(0),
            })
            .then_error(ModelError::BadText {
                model: model(),
                field,
            });
    }
    let mut no_warranty = details("WM-7");
    no_warranty.warranty.months = 0;
    given::<Model>([])
        .when(ModelCommand::Introduce {
            model: model(),
            details: no_warranty,
            at: day(0),
        })
        .then_error(ModelError::NoWarranty { model: model() });
}

// --- M2: revise ------------------------------------------------------------------------------

#[test]
fn revised_master_data_replaces_the_old_and_the_same_data_records_nothing_m2() {
    let state = given::<Model>(introduced())
        .when(ModelCommand::Revise {
            model: model(),
            details: details("WM-7 Eco"),
            at: day(3),
        })
        .then_events([ModelEvent::Revised {
            model: model(),
            details: details("WM-7 Eco"),
            at: day(3),
        }]);
    assert_eq!(state.details, Some(details("WM-7 Eco")));
    given::<Model>(introduced())
        .when(ModelCommand::Revise {
            model: model(),
            details: details(" WM-7"),
            at: day(3),
        })
        .then_events([]);
    given::<Model>([])
        .when(ModelCommand::Revise {
            model: model(),
            details: details("WM-7"),
            at: day(3),
        })
        .then_error(ModelError::NotIntroduced { model: model() });
}

#[test]
fn a_command_for_another_model_is_refused() {
    let other = ModelId::from_uuid(uuid::Uuid::from_u128(8));
    given::<Model>(introduced())
        .when(ModelCommand::Revise {
            model: other,
            details: details("WM-8"),
            at: day(3),
        })
        .then_error(ModelError::WrongModel {
            command: other,
            stream: model(),
        });
}

// --- M3: discontinue once, the guarantee counted in months from the day ---------------------------

#[test]
fn a_discontinued_model_guarantees_its_parts_for_the_years_given_inclusive_m3() {
    let at = Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let state = given::<Model>(introduced())
        .when(ModelCommand::Discontinue {
            model: model(),
            guarantee_years: 10,
            last_order_date: date(2034, 2, 28),
            at,
        })
        .then_events([ModelEvent::Discontinued {
            model: model(),
            guarantee_years: 10,
            // P5's rule: 120 months from 29 February end on the last day of February.
            guaranteed_until: date(2034, 2, 28),
            last_order_date: date(2034, 2, 28),
            at,
        }]);
    assert_eq!(
        state.discontinued.map(|d| (d.on, d.guaranteed_until)),
        Some((date(2024, 2, 29), date(2034, 2, 28)))
    );
    given::<Model>(introduced())
        .when(ModelCommand::Discontinue {
            model: model(),
            guarantee_years: 10,
            last_order_date: date(2034, 3, 1),
            at,
        })
        .then_error(ModelError::BadGuarantee {
            model: model(),
            last_order_date: date(2034, 3, 1),
        });
    given::<Model>(introduced())
        .when(ModelCommand::Discontinue {
            model: model(),
            guarantee_years: 0,
            last_order_date: date(2024, 3, 1),
            at,
        })
        .then_error(ModelError::BadGuarantee {
            model: model(),
            last_order_date: date(2024, 3, 1),
        });
}

#[test]
fn a_model_is_discontinued_once_and_only_when_in_the_catalogue_m3() {
    let last = day(400).date_naive();
    let discontinue = |at| ModelCommand::Discontinue {
        model: model(),
        guarantee_years: 12,
        last_order_date: last,
        at,
    };
    given::<Model>([])
        .when(discontinue(day(5)))
        .then_error(ModelError::NotIntroduced { model: model() });
    let mut history = introduced();
    history.push(ModelEvent::Discontinued {
        model: model(),
        guarantee_years: 12,
        guaranteed_until: day(5).date_naive() + chrono::Months::new(144),
        last_order_date: last,
        at: day(5),
    });
    given::<Model>(history)
        .when(discontinue(day(6)))
        .then_error(ModelError::AlreadyDiscontinued {
            model: model(),
            on: day(5).date_naive(),
        });
}

fn arbitrary_model_command() -> impl Strategy<Value = ModelCommand> {
    let at = (0i64..30).prop_map(day);
    let name = prop_oneof![Just("WM-7"), Just("WM-7 Eco"), Just(" "), Just("WM-9")];
    let months = 0u32..3;
    prop_oneof![
        (name.clone(), months.clone(), at.clone()).prop_map(|(name, months, at)| {
            let mut details = details(name);
            details.warranty.months = months;
            ModelCommand::Introduce {
                model: model(),
                details,
                at,
            }
        }),
        (name, months, at.clone()).prop_map(|(name, months, at)| {
            let mut details = details(name);
            details.warranty.months = months;
            ModelCommand::Revise {
                model: model(),
                details,
                at,
            }
        }),
        (0u32..13, 0i64..5000, at).prop_map(|(guarantee_years, last, at)| {
            ModelCommand::Discontinue {
                model: model(),
                guarantee_years,
                last_order_date: day(last).date_naive(),
                at,
            }
        }),
    ]
}

fn model_invariant(state: &ModelState) -> Result<(), String> {
    if state.model.is_some() != state.details.is_some() {
        return Err("a model without master data, or master data without a model".into());
    }
    if state.discontinued.is_some() && state.model.is_none() {
        return Err("a discontinued model never introduced".into());
    }
    if let Some(details) = &state.details {
        if details.name.trim().is_empty() || details.warranty.months == 0 {
            return Err("master data that M1 refuses".into());
        }
    }
    if let Some(discontinued) = state.discontinued {
        if discontinued.last_order_date > discontinued.guaranteed_until {
            return Err("last orders after the guarantee".into());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn a_model_obeys_the_domain_laws(commands in proptest::collection::vec(arbitrary_model_command(), 0..20)) {
        laws::check_command_sequence::<Model>(&commands, model_invariant);
        laws::assert_replay_deterministic::<Model>(&commands);
        let (_, history) = laws::decide_all::<Model>(&commands);
        laws::assert_snapshot_equivalence::<Model>(&history);
    }
}
