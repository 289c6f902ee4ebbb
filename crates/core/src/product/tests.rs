use proptest::prelude::*;

use super::*;
use crate::kernel::testing::{given, laws};
use crate::kernel::Event;
use crate::testing::time::{date, day, eur_cents};

struct Unit {
    model: ModelId,
    serial: SerialNumber,
    product: ProductId,
    customer: CustomerId,
}

fn unit() -> Unit {
    let model = ModelId::from_uuid(uuid::Uuid::from_u128(7));
    let serial = SerialNumber::new("WM-1001").unwrap();
    let product = ProductId::of(model, &serial);
    Unit {
        model,
        serial,
        product,
        customer: CustomerId::from_uuid(uuid::Uuid::from_u128(42)),
    }
}

fn received(u: &Unit) -> ProductEvent {
    ProductEvent::UnitReceived {
        product: u.product,
        model: u.model,
        serial: u.serial.clone(),
        at: day(0),
    }
}

fn ready(u: &Unit) -> Vec<ProductEvent> {
    vec![
        received(u),
        ProductEvent::UnitCommissioned { at: day(1) },
        ProductEvent::TestRunRecorded {
            passed: true,
            notes: "ok".into(),
            at: day(2),
        },
    ]
}

const ONE_YEAR_ON_SALE: WarrantyTerms = WarrantyTerms {
    months: 12,
    starts: WarrantyStart::OnSale,
};
const ALL_SERVICES: AfterSaleServices = AfterSaleServices {
    delivery: Some(DeliveryTo::Home),
    installation: true,
    training: true,
};

fn sell(u: &Unit, warranty: WarrantyTerms, services: AfterSaleServices) -> ProductCommand {
    ProductCommand::Sell {
        product: u.product,
        customer: u.customer,
        price: eur_cents(49_900),
        packaging: "original box".into(),
        warranty,
        services,
        at: day(3),
    }
}

fn sold_event(u: &Unit, warranty: WarrantyTerms, services: AfterSaleServices) -> ProductEvent {
    ProductEvent::UnitSold {
        customer: u.customer,
        price: eur_cents(49_900),
        packaging: "original box".into(),
        warranty,
        services,
        at: day(3),
    }
}

fn sold(u: &Unit, warranty: WarrantyTerms, services: AfterSaleServices) -> Vec<ProductEvent> {
    let mut history = ready(u);
    history.push(sold_event(u, warranty, services));
    history
}

// --- P1 ----------------------------------------------------------------------------------------

#[test]
fn receiving_a_unit_records_its_model_and_serial_under_the_derived_id() {
    let u = unit();
    let state = given::<Product>([])
        .when(ProductCommand::ReceiveUnit {
            model: u.model,
            serial: u.serial.clone(),
            at: day(0),
        })
        .then_events([received(&u)]);
    assert_eq!(state.status(), Some(ProductStatus::Received));
}

#[test]
fn receiving_the_same_model_and_serial_twice_is_rejected() {
    let u = unit();
    given::<Product>([received(&u)])
        .when(ProductCommand::ReceiveUnit {
            model: u.model,
            serial: u.serial.clone(),
            at: day(1),
        })
        .then_error(ProductError::AlreadyReceived {
            product: u.product,
            model: u.model,
            serial: u.serial.clone(),
        });
}

#[test]
fn a_command_for_a_unit_never_received_is_rejected() {
    let u = unit();
    given::<Product>([])
        .when(ProductCommand::Commission {
            product: u.product,
            at: day(1),
        })
        .then_error(ProductError::NotReceived { product: u.product });
}

#[test]
fn a_command_naming_another_unit_than_the_stream_is_rejected() {
    let u = unit();
    let other = ProductId::of(u.model, &SerialNumber::new("WM-2002").unwrap());
    given::<Product>([received(&u)])
        .when(ProductCommand::Commission {
            product: other,
            at: day(1),
        })
        .then_error(ProductError::WrongUnit {
            command: other,
            stream: u.product,
        });
}

// --- P2 ----------------------------------------------------------------------------------------

#[test]
fn transport_damage_is_numbered_and_repaired_by_number() {
    let u = unit();
    let recorded = ProductEvent::TransportDamageRecorded {
        damage: 1,
        description: "dented side panel".into(),
        severity: DamageSeverity::Cosmetic,
        at: day(1),
    };
    let state = given::<Product>([received(&u)])
        .when(ProductCommand::RecordTransportDamage {
            product: u.product,
            description: "  dented side panel ".into(),
            severity: DamageSeverity::Cosmetic,
            at: day(1),
        })
        .then_events([recorded.clone()]);
    assert_eq!(state.status(), Some(ProductStatus::InPreparation));
    given::<Product>([received(&u), recorded.clone()])
        .when(ProductCommand::RecordTransportDamage {
            product: u.product,
            description: "broken hinge".into(),
            severity: DamageSeverity::Functional,
            at: day(1),
        })
        .then_events([ProductEvent::TransportDamageRecorded {
            damage: 2,
            description: "broken hinge".into(),
            severity: DamageSeverity::Functional,
            at: day(1),
        }]);
    given::<Product>([received(&u), recorded])
        .when(ProductCommand::RepairTransportDamage {
            product: u.product,
            damage: 1,
            at: day(2),
        })
        .then_events([ProductEvent::TransportDamageRepaired {
            damage: 1,
            at: day(2),
        }]);
}

#[test]
fn damage_with_an_empty_description_is_rejected() {
    let u = unit();
    given::<Product>([received(&u)])
        .when(ProductCommand::RecordTransportDamage {
            product: u.product,
            description: "   ".into(),
            severity: DamageSeverity::Severe,
            at: day(1),
        })
        .then_error(ProductError::BadText {
            product: u.product,
            field: "a damage description",
        });
}

#[test]
fn repairing_unknown_or_repaired_damage_is_rejected() {
    let u = unit();
    given::<Product>([received(&u)])
        .when(ProductCommand::RepairTransportDamage {
            product: u.product,
            damage: 3,
            at: day(1),
        })
        .then_error(ProductError::UnknownDamage {
            product: u.product,
            damage: 3,
        });
    given::<Product>([
        received(&u),
        ProductEvent::TransportDamageRecorded {
            damage: 1,
            description: "scratch".into(),
            severity: DamageSeverity::Cosmetic,
            at: day(1),
        },
        ProductEvent::TransportDamageRepaired {
            damage: 1,
            at: day(1),
        },
    ])
    .when(ProductCommand::RepairTransportDamage {
        product: u.product,
        damage: 1,
        at: day(2),
    })
    .then_error(ProductError::DamageAlreadyRepaired {
        product: u.product,
        damage: 1,
    });
}

#[test]
fn damage_is_recorded_and_repaired_only_before_the_sale() {
    let u = unit();
    given::<Product>(sold(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .when(ProductCommand::RecordTransportDamage {
            product: u.product,
            description: "dent".into(),
            severity: DamageSeverity::Cosmetic,
            at: day(4),
        })
        .then_error(ProductError::AlreadySold {
            rule: "P2",
            product: u.product,
        });
}

// --- P3 ----------------------------------------------------------------------------------------

#[test]
fn a_commissioned_unit_whose_test_run_passed_is_ready_for_sale() {
    let u = unit();
    let state = given::<Product>([received(&u)])
        .when(ProductCommand::Commission {
            product: u.product,
            at: day(1),
        })
        .then_events([ProductEvent::UnitCommissioned { at: day(1) }]);
    assert_eq!(state.status(), Some(ProductStatus::InPreparation));
    let state = given::<Product>([received(&u), ProductEvent::UnitCommissioned { at: day(1) }])
        .when(ProductCommand::RecordTestRun {
            product: u.product,
            passed: true,
            notes: "ok".into(),
            at: day(2),
        })
        .then_events([ProductEvent::TestRunRecorded {
            passed: true,
            notes: "ok".into(),
            at: day(2),
        }]);
    assert_eq!(state.status(), Some(ProductStatus::ReadyForSale));
}

#[test]
fn commissioning_again_records_nothing() {
    let u = unit();
    given::<Product>(ready(&u))
        .when(ProductCommand::Commission {
            product: u.product,
            at: day(2),
        })
        .then_no_events();
}

#[test]
fn a_failed_test_run_sends_the_unit_back_to_preparation() {
    let u = unit();
    let state = given::<Product>(ready(&u))
        .when(ProductCommand::RecordTestRun {
            product: u.product,
            passed: false,
            notes: "leaks".into(),
            at: day(3),
        })
        .then_events([ProductEvent::TestRunRecorded {
            passed: false,
            notes: "leaks".into(),
            at: day(3),
        }]);
    assert_eq!(state.status(), Some(ProductStatus::InPreparation));
    assert_eq!(
        state.missing_for_sale(),
        vec![MissingForSale::PassedTestRun]
    );
}

#[test]
fn a_test_run_before_commissioning_is_rejected() {
    let u = unit();
    given::<Product>([received(&u)])
        .when(ProductCommand::RecordTestRun {
            product: u.product,
            passed: true,
            notes: String::new(),
            at: day(1),
        })
        .then_error(ProductError::NotCommissioned { product: u.product });
}

#[test]
fn open_damage_keeps_a_tested_unit_from_being_ready() {
    let u = unit();
    let mut history = ready(&u);
    history.push(ProductEvent::TransportDamageRecorded {
        damage: 1,
        description: "scratch".into(),
        severity: DamageSeverity::Cosmetic,
        at: day(2),
    });
    let state = Product::fold(&history);
    assert_eq!(state.status(), Some(ProductStatus::InPreparation));
    assert_eq!(
        state.missing_for_sale(),
        vec![MissingForSale::OpenDamage(1)]
    );
}

// --- P4 ----------------------------------------------------------------------------------------

#[test]
fn selling_a_ready_unit_records_the_sale_and_starts_a_warranty_that_starts_on_sale() {
    let u = unit();
    let state = given::<Product>(ready(&u))
        .when(sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .then_events([
            sold_event(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()),
            ProductEvent::WarrantyStarted {
                from: date(2026, 3, 4),
                until: date(2027, 3, 4),
            },
        ]);
    assert_eq!(state.status(), Some(ProductStatus::InService));
    assert_eq!(state.owner(), Some(u.customer));
    assert!(
        state.under_warranty(date(2027, 3, 4)),
        "the end is inclusive"
    );
    assert!(!state.under_warranty(date(2027, 3, 5)));
    assert!(!state.under_warranty(date(2026, 3, 3)));
}

#[test]
fn selling_a_unit_that_is_not_ready_names_every_missing_step() {
    let u = unit();
    given::<Product>([
        received(&u),
        ProductEvent::TransportDamageRecorded {
            damage: 1,
            description: "dent".into(),
            severity: DamageSeverity::Cosmetic,
            at: day(1),
        },
    ])
    .when(sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
    .then_error(ProductError::NotReadyForSale {
        product: u.product,
        missing: vec![
            MissingForSale::Commissioning,
            MissingForSale::PassedTestRun,
            MissingForSale::OpenDamage(1),
        ],
    });
}

#[test]
fn selling_twice_is_rejected() {
    let u = unit();
    given::<Product>(sold(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .when(sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .then_error(ProductError::AlreadySold {
            rule: "P4",
            product: u.product,
        });
}

#[test]
fn a_negative_price_an_empty_warranty_or_empty_packaging_is_rejected() {
    let u = unit();
    let mut negative = sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default());
    if let ProductCommand::Sell { price, .. } = &mut negative {
        *price = eur_cents(-1);
    }
    given::<Product>(ready(&u))
        .when(negative)
        .then_error(ProductError::NegativePrice {
            product: u.product,
            price: eur_cents(-1),
        });
    given::<Product>(ready(&u))
        .when(sell(
            &u,
            WarrantyTerms {
                months: 0,
                starts: WarrantyStart::OnSale,
            },
            AfterSaleServices::default(),
        ))
        .then_error(ProductError::EmptyWarranty { product: u.product });
    let mut unpacked = sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default());
    if let ProductCommand::Sell { packaging, .. } = &mut unpacked {
        packaging.clear();
    }
    given::<Product>(ready(&u))
        .when(unpacked)
        .then_error(ProductError::BadText {
            product: u.product,
            field: "the packaging",
        });
}

#[test]
fn a_warranty_that_starts_at_a_service_not_ordered_is_rejected() {
    let u = unit();
    for starts in [WarrantyStart::OnDelivery, WarrantyStart::OnInstallation] {
        given::<Product>(ready(&u))
            .when(sell(
                &u,
                WarrantyTerms { months: 24, starts },
                AfterSaleServices::default(),
            ))
            .then_error(ProductError::WarrantyWouldNeverStart {
                product: u.product,
                starts,
            });
    }
}

#[test]
fn a_sale_dated_before_the_receipt_is_rejected() {
    let u = unit();
    let mut early = sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default());
    if let ProductCommand::Sell { at, .. } = &mut early {
        *at = day(-1);
    }
    given::<Product>(ready(&u))
        .when(early)
        .then_error(ProductError::DateOutOfOrder {
            rule: "P4",
            product: u.product,
            what: "the sale",
            at: day(-1),
            earliest: day(0),
        });
}

// --- P5 ----------------------------------------------------------------------------------------

#[test]
fn delivery_installation_and_training_happen_in_order_and_the_warranty_starts_at_installation() {
    let u = unit();
    let terms = WarrantyTerms {
        months: 24,
        starts: WarrantyStart::OnInstallation,
    };
    let mut history = sold(&u, terms, ALL_SERVICES);
    let state = given::<Product>(history.clone())
        .when(ProductCommand::Deliver {
            product: u.product,
            at: day(5),
        })
        .then_events([ProductEvent::UnitDelivered { at: day(5) }]);
    assert_eq!(state.status(), Some(ProductStatus::Delivered));
    assert_eq!(state.warranty, None);
    history.push(ProductEvent::UnitDelivered { at: day(5) });
    let state = given::<Product>(history.clone())
        .when(ProductCommand::Install {
            product: u.product,
            at: day(6),
        })
        .then_events([
            ProductEvent::UnitInstalled { at: day(6) },
            ProductEvent::WarrantyStarted {
                from: date(2026, 3, 7),
                until: date(2028, 3, 7),
            },
        ]);
    assert_eq!(state.status(), Some(ProductStatus::Installed));
    history.push(ProductEvent::UnitInstalled { at: day(6) });
    let state = given::<Product>(history)
        .when(ProductCommand::TrainUsers {
            product: u.product,
            at: day(6),
        })
        .then_events([ProductEvent::UsersTrained { at: day(6) }]);
    assert_eq!(state.status(), Some(ProductStatus::InService));
}

#[test]
fn a_warranty_that_starts_on_delivery_starts_with_the_delivery() {
    let u = unit();
    let terms = WarrantyTerms {
        months: 6,
        starts: WarrantyStart::OnDelivery,
    };
    let services = AfterSaleServices {
        delivery: Some(DeliveryTo::Enterprise),
        installation: false,
        training: false,
    };
    given::<Product>(sold(&u, terms, services))
        .when(ProductCommand::Deliver {
            product: u.product,
            at: day(10),
        })
        .then_events([
            ProductEvent::UnitDelivered { at: day(10) },
            ProductEvent::WarrantyStarted {
                from: date(2026, 3, 11),
                until: date(2026, 9, 11),
            },
        ]);
}

#[test]
fn services_out_of_order_are_rejected_naming_the_missing_step() {
    let u = unit();
    let history = sold(&u, ONE_YEAR_ON_SALE, ALL_SERVICES);
    given::<Product>(history.clone())
        .when(ProductCommand::Install {
            product: u.product,
            at: day(5),
        })
        .then_error(ProductError::ServiceOutOfOrder {
            product: u.product,
            service: AfterSaleService::Installation,
            needs: AfterSaleService::Delivery,
        });
    let mut delivered = history;
    delivered.push(ProductEvent::UnitDelivered { at: day(5) });
    given::<Product>(delivered)
        .when(ProductCommand::TrainUsers {
            product: u.product,
            at: day(5),
        })
        .then_error(ProductError::ServiceOutOfOrder {
            product: u.product,
            service: AfterSaleService::Training,
            needs: AfterSaleService::Installation,
        });
}

#[test]
fn services_not_ordered_or_done_twice_are_rejected() {
    let u = unit();
    let history = sold(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default());
    for (command, service) in [
        (
            ProductCommand::Deliver {
                product: u.product,
                at: day(5),
            },
            AfterSaleService::Delivery,
        ),
        (
            ProductCommand::Install {
                product: u.product,
                at: day(5),
            },
            AfterSaleService::Installation,
        ),
        (
            ProductCommand::TrainUsers {
                product: u.product,
                at: day(5),
            },
            AfterSaleService::Training,
        ),
    ] {
        given::<Product>(history.clone()).when(command).then_error(
            ProductError::ServiceNotOrdered {
                product: u.product,
                service,
            },
        );
    }
    let mut delivered = sold(&u, ONE_YEAR_ON_SALE, ALL_SERVICES);
    delivered.push(ProductEvent::UnitDelivered { at: day(5) });
    given::<Product>(delivered)
        .when(ProductCommand::Deliver {
            product: u.product,
            at: day(6),
        })
        .then_error(ProductError::ServiceAlreadyDone {
            product: u.product,
            service: AfterSaleService::Delivery,
        });
}

#[test]
fn services_before_the_sale_or_dated_before_the_previous_step_are_rejected() {
    let u = unit();
    given::<Product>(ready(&u))
        .when(ProductCommand::Deliver {
            product: u.product,
            at: day(5),
        })
        .then_error(ProductError::NotSold { product: u.product });
    given::<Product>(sold(&u, ONE_YEAR_ON_SALE, ALL_SERVICES))
        .when(ProductCommand::Deliver {
            product: u.product,
            at: day(2),
        })
        .then_error(ProductError::DateOutOfOrder {
            rule: "P5",
            product: u.product,
            what: "the delivery",
            at: day(2),
            earliest: day(3),
        });
    let mut delivered = sold(&u, ONE_YEAR_ON_SALE, ALL_SERVICES);
    delivered.push(ProductEvent::UnitDelivered { at: day(5) });
    given::<Product>(delivered)
        .when(ProductCommand::Install {
            product: u.product,
            at: day(4),
        })
        .then_error(ProductError::DateOutOfOrder {
            rule: "P5",
            product: u.product,
            what: "the installation",
            at: day(4),
            earliest: day(5),
        });
}

// --- P6 ----------------------------------------------------------------------------------------

#[test]
fn the_owner_can_order_a_modernization_after_the_sale() {
    let u = unit();
    let state = given::<Product>(sold(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .when(ProductCommand::Modernize {
            product: u.product,
            requested_by: u.customer,
            description: "new control board".into(),
            at: day(200),
        })
        .then_events([ProductEvent::UnitModernized {
            description: "new control board".into(),
            at: day(200),
        }]);
    assert_eq!(state.modernizations, vec!["new control board".to_owned()]);
}

#[test]
fn modernization_before_the_sale_or_by_someone_else_is_rejected() {
    let u = unit();
    let stranger = CustomerId::from_uuid(uuid::Uuid::from_u128(99));
    given::<Product>(ready(&u))
        .when(ProductCommand::Modernize {
            product: u.product,
            requested_by: u.customer,
            description: "x".into(),
            at: day(5),
        })
        .then_error(ProductError::NotSold { product: u.product });
    given::<Product>(sold(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .when(ProductCommand::Modernize {
            product: u.product,
            requested_by: stranger,
            description: "x".into(),
            at: day(5),
        })
        .then_error(ProductError::NotRequestedByOwner {
            product: u.product,
            owner: u.customer,
            requested_by: stranger,
        });
}

// --- P7 ----------------------------------------------------------------------------------------

#[test]
fn a_returned_or_scrapped_unit_accepts_nothing_more() {
    let u = unit();
    let mut returned = sold(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default());
    let state = given::<Product>(returned.clone())
        .when(ProductCommand::Return {
            product: u.product,
            reason: "customer withdrew".into(),
            at: day(9),
        })
        .then_events([ProductEvent::UnitReturned {
            reason: "customer withdrew".into(),
            at: day(9),
        }]);
    assert_eq!(state.status(), Some(ProductStatus::Returned));
    returned.push(ProductEvent::UnitReturned {
        reason: "customer withdrew".into(),
        at: day(9),
    });
    given::<Product>(returned)
        .when(ProductCommand::Modernize {
            product: u.product,
            requested_by: u.customer,
            description: "x".into(),
            at: day(10),
        })
        .then_error(ProductError::Closed {
            product: u.product,
            status: ProductStatus::Returned,
        });

    let mut scrapped = ready(&u);
    scrapped.push(ProductEvent::UnitScrapped {
        reason: "flood".into(),
        at: day(4),
    });
    given::<Product>(scrapped)
        .when(sell(&u, ONE_YEAR_ON_SALE, AfterSaleServices::default()))
        .then_error(ProductError::Closed {
            product: u.product,
            status: ProductStatus::Scrapped,
        });
}

#[test]
fn closing_needs_a_reason() {
    let u = unit();
    given::<Product>([received(&u)])
        .when(ProductCommand::Scrap {
            product: u.product,
            reason: " ".into(),
            at: day(1),
        })
        .then_error(ProductError::BadText {
            product: u.product,
            field: "a reason",
        });
}

// --- Events ------------------------------------------------------------------------------------

#[test]
fn every_product_event_round_trips_through_its_stable_name() {
    let u = unit();
    let mut events = sold(&u, ONE_YEAR_ON_SALE, ALL_SERVICES);
    events.extend([
        ProductEvent::TransportDamageRecorded {
            damage: 1,
            description: "d".into(),
            severity: DamageSeverity::Severe,
            at: day(1),
        },
        ProductEvent::TransportDamageRepaired {
            damage: 1,
            at: day(1),
        },
        ProductEvent::WarrantyStarted {
            from: date(2026, 1, 1),
            until: date(2026, 12, 31),
        },
        ProductEvent::UnitDelivered { at: day(4) },
        ProductEvent::UnitInstalled { at: day(4) },
        ProductEvent::UsersTrained { at: day(4) },
        ProductEvent::UnitModernized {
            description: "m".into(),
            at: day(5),
        },
        ProductEvent::UnitReturned {
            reason: "r".into(),
            at: day(6),
        },
        ProductEvent::UnitScrapped {
            reason: "s".into(),
            at: day(6),
        },
    ]);
    let names: std::collections::BTreeSet<_> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        names.len(),
        ProductEvent::catalogue().len(),
        "every event type is exercised"
    );
    laws::assert_upcast_stable(&events, &crate::kernel::EventDecoder::default());
}

// --- Laws --------------------------------------------------------------------------------------

/// Commands for the fixed unit of [`unit`], with days from a small range so orders vary.
fn arbitrary_product_command() -> impl Strategy<Value = ProductCommand> {
    let u = unit();
    let (model, serial, product, owner) = (u.model, u.serial, u.product, u.customer);
    let stranger = CustomerId::from_uuid(uuid::Uuid::from_u128(99));
    let at = (0i64..30).prop_map(day);
    let services = (
        proptest::option::of(Just(DeliveryTo::Home)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(delivery, installation, training)| AfterSaleServices {
            delivery,
            installation,
            training,
        });
    let starts = prop_oneof![
        Just(WarrantyStart::OnSale),
        Just(WarrantyStart::OnDelivery),
        Just(WarrantyStart::OnInstallation)
    ];
    prop_oneof![
        at.clone().prop_map(move |at| ProductCommand::ReceiveUnit {
            model,
            serial: serial.clone(),
            at
        }),
        (at.clone(), any::<bool>()).prop_map(move |(at, cosmetic)| {
            ProductCommand::RecordTransportDamage {
                product,
                description: "damage".into(),
                severity: if cosmetic {
                    DamageSeverity::Cosmetic
                } else {
                    DamageSeverity::Functional
                },
                at,
            }
        }),
        (at.clone(), 0u32..4).prop_map(move |(at, damage)| ProductCommand::RepairTransportDamage {
            product,
            damage,
            at
        }),
        at.clone()
            .prop_map(move |at| ProductCommand::Commission { product, at }),
        (at.clone(), any::<bool>()).prop_map(move |(at, passed)| ProductCommand::RecordTestRun {
            product,
            passed,
            notes: String::new(),
            at,
        }),
        (at.clone(), services, starts, 0u32..30, -5i64..100_000).prop_map(
            move |(at, services, starts, months, price)| ProductCommand::Sell {
                product,
                customer: owner,
                price: eur_cents(price),
                packaging: "box".into(),
                warranty: WarrantyTerms { months, starts },
                services,
                at,
            }
        ),
        at.clone()
            .prop_map(move |at| ProductCommand::Deliver { product, at }),
        at.clone()
            .prop_map(move |at| ProductCommand::Install { product, at }),
        at.clone()
            .prop_map(move |at| ProductCommand::TrainUsers { product, at }),
        (at.clone(), any::<bool>()).prop_map(move |(at, by_owner)| ProductCommand::Modernize {
            product,
            requested_by: if by_owner { owner } else { stranger },
            description: "upgrade".into(),
            at,
        }),
        at.clone().prop_map(move |at| ProductCommand::Return {
            product,
            reason: "returned".into(),
            at
        }),
        at.prop_map(move |at| ProductCommand::Scrap {
            product,
            reason: "scrapped".into(),
            at
        }),
    ]
}

/// The invariants of §3 (docs/domain.md) that must hold after every accepted command.
fn product_invariant(state: &ProductState) -> Result<(), String> {
    if let Some(sale) = &state.sale {
        if state.delivered_at.is_some_and(|at| at < sale.at) {
            return Err("delivered before the sale".into());
        }
        if let (Some(delivered), Some(installed)) = (state.delivered_at, state.installed_at) {
            if installed < delivered {
                return Err("installed before delivery".into());
            }
        }
        if sale.services.installation && state.trained_at.is_some() && state.installed_at.is_none()
        {
            return Err("trained before an ordered installation".into());
        }
        if sale.price.minor_units < 0 {
            return Err("sold for a negative price".into());
        }
    }
    if state.sale.is_none() && (state.delivered_at.is_some() || state.warranty.is_some()) {
        return Err("after-sale facts without a sale".into());
    }
    if let Some(warranty) = state.warranty {
        if warranty.until < warranty.from {
            return Err("a warranty that ends before it starts".into());
        }
    }
    if state.product.is_none() && state.status().is_some() {
        return Err("a status without a unit".into());
    }
    Ok(())
}

proptest! {
    #[test]
    fn product_obeys_the_domain_laws(commands in proptest::collection::vec(arbitrary_product_command(), 0..40)) {
        laws::check_command_sequence::<Product>(&commands, product_invariant);
        laws::assert_replay_deterministic::<Product>(&commands);
    }

    #[test]
    fn a_product_snapshot_plus_its_tail_equals_the_full_fold(
        commands in proptest::collection::vec(arbitrary_product_command(), 0..40),
    ) {
        let (_, history) = laws::decide_all::<Product>(&commands);
        laws::assert_snapshot_equivalence::<Product>(&history);
    }

    #[test]
    fn a_sold_unit_was_ready_when_it_was_sold(
        commands in proptest::collection::vec(arbitrary_product_command(), 0..40),
    ) {
        let mut state = ProductState::default();
        for command in &commands {
            let before = state.clone();
            if let Ok(events) = Product::decide(&state, command) {
                if events.iter().any(|event| matches!(event, ProductEvent::UnitSold { .. })) {
                    prop_assert!(before.missing_for_sale().is_empty());
                    prop_assert_eq!(before.status(), Some(ProductStatus::ReadyForSale));
                }
                for event in &events {
                    Product::apply(&mut state, event);
                }
            }
        }
    }
}

#[test]
fn a_warranty_ending_beyond_the_calendar_is_a_typed_error_not_a_panic() {
    let u = unit();
    given::<Product>(ready(&u))
        .when(sell(
            &u,
            WarrantyTerms {
                months: u32::MAX,
                starts: WarrantyStart::OnSale,
            },
            AfterSaleServices::default(),
        ))
        .then_error(ProductError::WarrantyEndOutOfRange { product: u.product });
}
