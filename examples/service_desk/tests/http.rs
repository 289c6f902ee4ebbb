//! The desk over real HTTP on 127.0.0.1: the daily story through the API, every class of error
//! with its status, a request sent twice, and many clients at once, after which the store
//! verifies clean; and the same desk on PostgreSQL, on a throwaway server the test starts.

mod common;

use common::Running;
use serde_json::{json, Value};
use service_desk::DeskStore;

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A command line for `/api/commands`.
fn line(aggregate: &str, command: Value) -> Value {
    json!({"id": id(), "aggregate": aggregate, "command": command})
}

fn created(response: &(u16, Value), what: &str) -> Value {
    assert_eq!(response.0, 201, "{what}: {}", response.1);
    response.1.clone()
}

fn ok(response: &(u16, Value), what: &str) -> Value {
    assert_eq!(response.0, 200, "{what}: {}", response.1);
    response.1.clone()
}

/// The shop: a model, a customer, a certified technician, a pump in stock. Returns (model,
/// customer, technician).
fn open_shop<S: DeskStore>(desk: &Running<S>) -> (String, String, String) {
    let model = created(
        &desk.post(
            "/api/models",
            json!({"name": "WM-7 washing machine", "manufacturer": "Volga Appliances",
                   "category": "washing machines",
                   "warranty": {"months": 12, "starts": "on_sale"}}),
        ),
        "a model",
    )["model"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer = created(
        &desk.post(
            "/api/customers",
            json!({"name": "Анна Петрова", "contact": "+7 900 000 00 00", "level": "accountable"}),
        ),
        "a customer",
    )["customer"]
        .as_str()
        .unwrap()
        .to_owned();
    let technician = created(
        &desk.post("/api/technicians", json!({"name": "Ivan Sidorov"})),
        "a technician",
    )["technician"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now();
    for command in [
        line(
            "technician",
            json!({"CompleteStandardsTraining": {"technician": technician, "at": now}}),
        ),
        line(
            "technician",
            json!({"Certify": {"technician": technician, "model": model,
                   "until": "2099-12-31", "at": now}}),
        ),
        line(
            "part",
            json!({"RegisterPart": {"part": "PUMP-1", "models": {model.clone(): 1},
                   "reorder_point": 1, "at": now}}),
        ),
        line(
            "part",
            json!({"ReceiveStock": {"part": "PUMP-1", "location": "central_warehouse",
                   "quantity": 5, "at": now}}),
        ),
    ] {
        ok(&desk.post("/api/commands", command), "a command line");
    }
    (model, customer, technician)
}

/// A unit of `model` received ready for sale.
fn unit<S: DeskStore>(desk: &Running<S>, model: &str, serial: &str) -> String {
    created(
        &desk.post(
            "/api/units",
            json!({"model": model, "serial": serial, "ready_for_sale": true}),
        ),
        "a unit",
    )["unit"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sale(customer: &str) -> Value {
    json!({"customer": customer, "price": {"minor_units": 49_900, "currency": "EUR"},
           "packaging": "original box"})
}

#[test]
fn the_daily_story_runs_through_the_api_and_the_store_verifies_clean() {
    let mut desk = Running::start();
    let (model, customer, technician) = open_shop(&desk);
    let washer = unit(&desk, &model, "WM-0001");
    let sold = ok(
        &desk.post(&format!("/api/units/{washer}/sale"), sale(&customer)),
        "the sale",
    );
    assert!(sold["events"]
        .as_array()
        .unwrap()
        .contains(&json!("product.unit_sold")));
    // Delivered home: a second unit sold with delivery ordered.
    let second = unit(&desk, &model, "WM-0002");
    let mut with_delivery = sale(&customer);
    with_delivery["services"] = json!({"delivery": "home"});
    ok(
        &desk.post(&format!("/api/units/{second}/sale"), with_delivery),
        "a sale with delivery",
    );
    ok(
        &desk.post(&format!("/api/units/{second}/delivery"), json!({})),
        "the delivery",
    );
    // A breakdown: the request goes under the warranty contract the sale opened.
    let request = created(
        &desk.post(
            "/api/service-requests",
            json!({"unit": washer, "priority": "high", "kind": "breakdown"}),
        ),
        "a service request",
    );
    let call = request["call"].as_str().unwrap().to_owned();
    ok(
        &desk.post(
            &format!("/api/service-requests/{call}/dispatch"),
            json!({"technician": technician, "parts": [["PUMP-1", 1]]}),
        ),
        "the dispatch",
    );
    ok(
        &desk.post(&format!("/api/service-requests/{call}/arrival"), json!({})),
        "the arrival",
    );
    ok(
        &desk.post(
            "/api/parts/PUMP-1/reservations",
            json!({"call": call, "quantity": 1}),
        ),
        "a reservation",
    );
    ok(
        &desk.post(
            &format!("/api/service-requests/{call}/resolution"),
            json!({"work": "pump replaced", "cost": {"minor_units": 12_000, "currency": "EUR"}}),
        ),
        "the resolution",
    );
    // The reports, with the names shown for their ids.
    // As of tomorrow: today's SLA report ends at today's close of business (18:00 UTC), so a
    // call opened after it, when the test runs in the evening, would count only tomorrow.
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let (status, sla) = desk.get_json(&format!("/api/reports/sla?as_of={tomorrow}"));
    assert_eq!(status, 200, "{sla}");
    assert_eq!(sla["report"], "sla");
    assert!(
        sla["data"]["overall"]["calls"].as_u64().unwrap() >= 1,
        "{sla}"
    );
    let (status, pre_sale) = desk.get_json("/api/reports/pre-sale");
    assert_eq!(status, 200);
    assert!(pre_sale["names"]["models"]
        .as_object()
        .unwrap()
        .values()
        .any(|name| name == "WM-7 washing machine"));
    // As of a day before anything happened, the board is empty; today it holds the units.
    let (status, past) = desk.get_json("/api/reports/pre-sale?as_of=2020-01-01");
    assert_eq!(status, 200, "{past}");
    assert_eq!(past["data"]["units_by_model_and_status"], json!([]));
    assert_ne!(pre_sale["data"]["units_by_model_and_status"], json!([]));
    let (status, twice) = desk.get_json("/api/reports/pre-sale?as_of=2020-01-01&as_of=2021-01-01");
    assert_eq!(status, 400, "{twice}");
    assert_eq!(twice["error"], "bad_input");
    desk.stop();
    // The background task followed the log to its end and saved the policies' checkpoint there.
    use service_lifecycle::kernel::{CheckpointStore, EventStore};
    let head = desk.store.head_position().unwrap();
    let followed = desk
        .store
        .load_checkpoint(service_lifecycle::POLICY_CHECKPOINT)
        .unwrap();
    assert_eq!(
        followed, head,
        "the checkpoint is at the head when the desk stops"
    );
    let report = desk.store.verify().unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(
        service_lifecycle::customers_missing_personal_data(&desk.store, &desk.store)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_request_sent_again_with_its_idempotency_key_records_nothing_twice() {
    let desk = Running::start();
    let (model, customer, _) = open_shop(&desk);
    let key = id();
    let send = |path: &str, body: Value| {
        let (status, text) = desk.call(
            "POST",
            path,
            Some(&body.to_string()),
            &[("Idempotency-Key", &key)],
        );
        (status, common::json(&text))
    };
    // A unit received ready for sale: three commands, each recognised the second time.
    let receive = json!({"model": model, "serial": "WM-0009", "ready_for_sale": true});
    let first = send("/api/units", receive.clone());
    assert_eq!(first.0, 201, "{}", first.1);
    let again = send("/api/units", receive);
    assert_eq!(again.0, 201, "{}", again.1);
    assert_eq!(again.1["replayed"], true);
    assert_eq!(again.1["unit"], first.1["unit"]);
    // A customer: the same id, registered once.
    let key = id();
    let register = |desk: &Running| {
        let body = json!({"name": "Vera", "contact": "+7"}).to_string();
        let (status, text) = desk.call(
            "POST",
            "/api/customers",
            Some(&body),
            &[("Idempotency-Key", &key)],
        );
        (status, common::json(&text))
    };
    let first = register(&desk);
    let again = register(&desk);
    assert_eq!((first.0, again.0), (201, 201), "{} {}", first.1, again.1);
    assert_eq!(first.1["customer"], again.1["customer"]);
    assert_eq!(again.1["replayed"], true);
    // A service request: the same call, under the same contract.
    let washer = first_sold_unit(&desk, &model, &customer);
    let key = id();
    let open = |desk: &Running| {
        let body = json!({"unit": washer, "priority": "high", "kind": "breakdown"}).to_string();
        let (status, text) = desk.call(
            "POST",
            "/api/service-requests",
            Some(&body),
            &[("Idempotency-Key", &key)],
        );
        (status, common::json(&text))
    };
    let first = open(&desk);
    let again = open(&desk);
    assert_eq!((first.0, again.0), (201, 201), "{} {}", first.1, again.1);
    assert_eq!(first.1["call"], again.1["call"]);
    assert_eq!(again.1["replayed"], true);
}

/// A unit of `model` sold to `customer`.
fn first_sold_unit<S: DeskStore>(desk: &Running<S>, model: &str, customer: &str) -> String {
    let washer = unit(desk, model, "WM-0100");
    ok(
        &desk.post(&format!("/api/units/{washer}/sale"), sale(customer)),
        "the sale",
    );
    washer
}

#[test]
fn every_class_of_error_has_its_status_and_says_what_is_wrong() {
    let desk = Running::start();
    let (model, customer, _) = open_shop(&desk);
    // 400: not JSON, a missing field, a wrong type, a bad currency, a bad date.
    let (status, body) = desk.call("POST", "/api/customers", Some("{not json"), &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not JSON"), "{body}");
    let (status, body) = desk.post("/api/customers", json!({"name": "Boris"}));
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("personal_data.contact"),
        "{body}"
    );
    let washer = unit(&desk, &model, "WM-0001");
    let mut bad_price = sale(&customer);
    bad_price["price"]["minor_units"] = json!("a lot");
    let (status, body) = desk.post(&format!("/api/units/{washer}/sale"), bad_price);
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("price.minor_units"),
        "{body}"
    );
    let mut bad_currency = sale(&customer);
    bad_currency["price"]["currency"] = json!("euro");
    let (status, body) = desk.post(&format!("/api/units/{washer}/sale"), bad_currency);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("price.currency"),
        "{body}"
    );
    let (status, body) = desk.get_json("/api/reports/sla?as_of=yesterday");
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("as_of"),
        "{body}"
    );
    let (status, _) = desk.call("GET", "/?as_of=31.12.2026", None, &[]);
    assert_eq!(status, 400);
    // 404: a unit, a report, a request nobody knows.
    let nobody = uuid::Uuid::new_v4();
    let (status, body) = desk.post(&format!("/api/units/{nobody}/sale"), sale(&customer));
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
    let (status, _) = desk.get_json("/api/reports/profits");
    assert_eq!(status, 404);
    let (status, _) = desk.post(
        &format!("/api/service-requests/{nobody}/dispatch"),
        json!({"technician": nobody}),
    );
    assert_eq!(status, 404);
    let (status, _) = desk.post(
        "/api/service-requests",
        json!({"unit": nobody, "priority": "high", "kind": "breakdown"}),
    );
    assert_eq!(status, 404);
    // 422: the rules refuse, naming the rule.
    let received = created(
        &desk.post("/api/units", json!({"model": model, "serial": "WM-0002"})),
        "a unit not prepared",
    );
    let unready = received["unit"].as_str().unwrap();
    let (status, body) = desk.post(&format!("/api/units/{unready}/sale"), sale(&customer));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["rule"], "not_ready_for_sale");
    assert!(body["message"].as_str().unwrap().contains("(P4)"), "{body}");
    let (status, body) = desk.post(
        "/api/service-requests",
        json!({"unit": unready, "priority": "high", "kind": "breakdown"}),
    );
    assert_eq!(status, 422, "no contract covers an unsold unit: {body}");
    // 409: an idempotency key used for another command.
    let key = id();
    let model_line = json!({"name": "DW-5 dishwasher", "manufacturer": "Neva Home",
        "category": "dishwashers", "warranty": {"months": 24, "starts": "on_sale"}})
    .to_string();
    let first = desk.call(
        "POST",
        "/api/models",
        Some(&model_line),
        &[("Idempotency-Key", &key)],
    );
    assert_eq!(first.0, 201, "{}", first.1);
    let again = desk.call(
        "POST",
        "/api/models",
        Some(&model_line),
        &[("Idempotency-Key", &key)],
    );
    assert_eq!(again.0, 201);
    assert_eq!(common::json(&again.1)["replayed"], true, "{}", again.1);
    let reused = desk.call(
        "POST",
        "/api/customers",
        Some(&json!({"name": "Vera", "contact": "+7"}).to_string()),
        &[("Idempotency-Key", &key)],
    );
    assert_eq!(reused.0, 409, "{}", reused.1);
    let (status, body) = desk.call(
        "POST",
        "/api/customers",
        Some(&json!({"name": "Vera", "contact": "+7"}).to_string()),
        &[("Idempotency-Key", "not-a-uuid")],
    );
    assert_eq!(status, 400, "{body}");
}

#[test]
fn many_clients_at_once_get_a_success_or_a_clear_conflict_and_the_store_stays_whole() {
    let mut desk = Running::start();
    let (model, customer, _) = open_shop(&desk);
    let units: Vec<String> = (0..6)
        .map(|n| unit(&desk, &model, &format!("WM-{n:04}")))
        .collect();
    let address = desk.address;
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let units = units.clone();
            let customer = customer.clone();
            let model = model.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for round in 0..4 {
                    // Every client tries to sell every unit: one sale of each wins.
                    let unit = &units[(client + round) % units.len()];
                    let (status, body) = common::request(
                        address,
                        "POST",
                        &format!("/api/units/{unit}/sale"),
                        Some(&sale(&customer).to_string()),
                        &[],
                    );
                    statuses.push(("sale", status, body));
                    let (status, body) = common::request(
                        address,
                        "POST",
                        "/api/units",
                        Some(
                            &json!({"model": model, "serial": format!("C{client}-{round}")})
                                .to_string(),
                        ),
                        &[],
                    );
                    statuses.push(("receipt", status, body));
                    let (status, body) = common::request(
                        address,
                        "POST",
                        "/api/service-requests",
                        Some(
                            &json!({"unit": unit, "priority": "normal", "kind": "consultation"})
                                .to_string(),
                        ),
                        &[],
                    );
                    statuses.push(("request", status, body));
                }
                statuses
            })
        })
        .collect();
    let mut sold = 0;
    for client in clients {
        for (what, status, body) in client.join().unwrap() {
            assert!(
                matches!(status, 200 | 201 | 409 | 422),
                "a success or a clear refusal, never {status}: {body}"
            );
            if what == "receipt" {
                assert_eq!(
                    status, 201,
                    "a receipt of a new serial always passes: {body}"
                );
            }
            if status >= 400 {
                let body = common::json(&body);
                assert!(!body["message"].as_str().unwrap_or_default().is_empty());
            }
            if status == 200 && body.contains("product.unit_sold") {
                sold += 1;
            }
        }
    }
    assert_eq!(sold, units.len(), "each unit is sold once");
    desk.stop();
    let report = desk.store.verify().unwrap();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn the_desk_runs_on_postgresql_too() {
    use service_lifecycle::kernel::EventStore;
    use service_lifecycle::postgres::{PostgresOptions, PostgresStore, ThrowawayServer};
    let Some(server) = ThrowawayServer::start_unless_missing().unwrap() else {
        return;
    };
    let store = PostgresStore::<service_lifecycle::ServiceEvent>::open_with(
        &server.url(),
        PostgresOptions::new().schema("desk"),
    )
    .unwrap();
    let mut desk = Running::on(store);
    let (model, customer, _) = open_shop(&desk);
    let washer = unit(&desk, &model, "WM-0001");
    ok(
        &desk.post(&format!("/api/units/{washer}/sale"), sale(&customer)),
        "the sale",
    );
    created(
        &desk.post(
            "/api/service-requests",
            json!({"unit": washer, "priority": "critical", "kind": "breakdown"}),
        ),
        "a service request",
    );
    let (status, board) = desk.call("GET", "/", None, &[]);
    assert_eq!(status, 200);
    assert!(board.contains("WM-7 washing machine"), "{board}");
    desk.stop();
    // Every event reads back in order, and every customer has their personal data.
    let mut versions = std::collections::HashMap::new();
    for stored in desk.store.read_all(1).unwrap() {
        let stored = stored.unwrap();
        let version = versions.entry(stored.stream_id.clone()).or_insert(0);
        *version += 1;
        assert_eq!(stored.stream_version, *version);
    }
    assert!(
        service_lifecycle::customers_missing_personal_data(&desk.store, &desk.store)
            .unwrap()
            .is_empty()
    );
}
