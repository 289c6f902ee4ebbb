//! The JSON API of the daily work. Each endpoint takes a JSON object whose fields are those of the
//! command it records (docs/commands.md: the serde form of the domain's commands), with the ids
//! of the path filled in and `at` defaulting to now; `POST /api/commands` takes any command as a
//! command line. An `Idempotency-Key` header (a UUID) makes a request safe to send again: the
//! command it recorded is recognised and nothing is recorded twice.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use service_lifecycle::kernel::{derived_uuid, CommandContext, CommandId};
use service_lifecycle::reports::Reports;
use service_lifecycle::{
    CallId, CommandLine, CommandOutcome, ContractId, ContractStatus, CustomerId, ModelCommand,
    ModelId, PartCommand, ProductCommand, ProductId, Registration, ServiceCommand, ServiceError,
    TechnicianCommand, TechnicianId,
};
use service_lifecycle_cli::tables::{write_report, Format, ReportName, ReportOptions};

use crate::desk::{Desk, DeskStore};
use crate::error::ApiError;

/// The state every handler shares.
pub type Shared<S> = State<Arc<Desk<S>>>;

/// The body as a JSON object, or a 400 saying why it is not one.
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ApiError::BadInput("the body must be a JSON object".into())),
        Err(error) => Err(ApiError::BadInput(format!("the body is not JSON: {error}"))),
    }
}

/// `value` read as `T`, or a 400 naming the field that is wrong (`price.currency: ...`).
fn read<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path.is_empty() || path == "." {
            ApiError::BadInput(inner.to_string())
        } else {
            ApiError::BadInput(format!("{path}: {inner}"))
        }
    })
}

/// The body as a JSON object; an empty body is an empty object (a step with nothing to say).
fn object_or_empty(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.is_empty() {
        Ok(Map::new())
    } else {
        object(body)
    }
}

/// The id named `what` in a request's path (`the unit in the path`), or a 400.
fn path_id<T: DeserializeOwned>(text: String, what: &str) -> Result<T, ApiError> {
    serde_json::from_value(Value::String(text))
        .map_err(|error| ApiError::BadInput(format!("the {what} in the path: {error}")))
}

/// The command `variant` of `T` from `fields`, with `at` defaulting to now; a 400 naming the
/// field that is wrong.
fn command<T: DeserializeOwned>(
    variant: &str,
    mut fields: Map<String, Value>,
) -> Result<T, ApiError> {
    fields
        .entry("at")
        .or_insert_with(|| serde_json::json!(Utc::now()));
    let mut tagged = Map::new();
    tagged.insert(variant.to_owned(), Value::Object(fields));
    read::<T>(Value::Object(tagged)).map_err(|error| match error {
        // The path begins with the variant the endpoint chose, which the client never wrote.
        ApiError::BadInput(message) => ApiError::BadInput(
            message
                .strip_prefix(&format!("{variant}."))
                .map_or(message.clone(), str::to_owned),
        ),
        other => other,
    })
}

/// A field of `fields` read as `T`, or a 400 naming it.
fn field<T: DeserializeOwned>(fields: &Map<String, Value>, name: &str) -> Result<T, ApiError> {
    let value = fields.get(name).cloned().unwrap_or(Value::Null);
    read::<T>(value).map_err(|error| match error {
        ApiError::BadInput(message) => ApiError::BadInput(format!("{name}: {message}")),
        other => other,
    })
}

/// The command id of a request: from its `Idempotency-Key` header (a UUID), or new.
fn command_id(headers: &HeaderMap) -> Result<CommandId, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(CommandId::new()),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| uuid::Uuid::parse_str(text.trim()).ok())
            .map(CommandId::from_uuid)
            .ok_or_else(|| ApiError::BadInput("the Idempotency-Key header must be a UUID".into())),
    }
}

/// The id of an entity a request creates without naming it: derived from the request's
/// `Idempotency-Key` when it has one (so the request sent again names the same entity, and is
/// recognised), else `new`.
fn created_id(headers: &HeaderMap, kind: &str, new: uuid::Uuid) -> Result<uuid::Uuid, ApiError> {
    Ok(match headers.get("idempotency-key") {
        Some(_) => derived_uuid(command_id(headers)?.as_uuid(), kind.as_bytes()),
        None => new,
    })
}

/// The id of the `step`-th command of a request whose id is `id` (a request that records
/// several commands gives each its own, all recognised when it is sent again).
fn step(id: CommandId, step: &str) -> CommandContext {
    CommandContext::with_command_id(CommandId::from_uuid(derived_uuid(
        id.as_uuid(),
        step.as_bytes(),
    )))
}

/// Runs `commands` in order (off the async threads) and answers with the last one's outcome
/// and `extra` fields (the ids the request created).
async fn run<S: DeskStore>(
    desk: &Arc<Desk<S>>,
    id: CommandId,
    commands: Vec<ServiceCommand>,
    status: StatusCode,
    extra: Value,
) -> Result<Response, ApiError> {
    let outcome = desk
        .blocking(move |desk| {
            let mut last = None;
            let single = commands.len() == 1;
            for (index, command) in commands.into_iter().enumerate() {
                let context = if single {
                    CommandContext::with_command_id(id)
                } else {
                    step(id, &index.to_string())
                };
                last = Some(desk.service().execute(command, &context)?);
                desk.notify_recorded();
            }
            Ok(last)
        })
        .await?;
    Ok((status, Json(answer(outcome, extra))).into_response())
}

fn answer(outcome: Option<CommandOutcome>, extra: Value) -> Value {
    let mut body = match outcome.map(serde_json::to_value) {
        Some(Ok(Value::Object(fields))) => fields,
        _ => Map::new(),
    };
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    Value::Object(body)
}

/// `POST /api/commands`: any command, as a command line (`{"id", "aggregate", "command"}`).
pub async fn any_command<S: DeskStore>(
    State(desk): Shared<S>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let line: CommandLine = serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadInput(format!("not a command line: {error}")))?;
    run(
        &desk,
        line.id,
        vec![line.command],
        StatusCode::OK,
        Value::Null,
    )
    .await
}

/// `POST /api/models`: a model into the catalogue (`name`, `manufacturer`, `category`,
/// `warranty`; `model` optional).
pub async fn introduce_model<S: DeskStore>(
    State(desk): Shared<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut fields = object(&body)?;
    let model = fields
        .remove("model")
        .map(serde_json::from_value::<ModelId>)
        .transpose()
        .map_err(|error| ApiError::BadInput(format!("model: {error}")))?
        .map_or_else(
            || created_id(&headers, "model", ModelId::new().as_uuid()).map(ModelId::from_uuid),
            Ok,
        )?;
    let at = fields.remove("at");
    let mut introduce = Map::new();
    introduce.insert("model".into(), serde_json::json!(model));
    introduce.insert("details".into(), Value::Object(fields));
    if let Some(at) = at {
        introduce.insert("at".into(), at);
    }
    let command: ModelCommand = command("Introduce", introduce)?;
    let id = command_id(&headers)?;
    let extra = serde_json::json!({ "model": model });
    run(
        &desk,
        id,
        vec![ServiceCommand::Model(command)],
        StatusCode::CREATED,
        extra,
    )
    .await
}

/// `POST /api/customers`: a customer with their personal data (`name`, `contact`; optional
/// `customer`, `target_group`, `level`, `account_owner`, `at`).
pub async fn register_customer<S: DeskStore>(
    State(desk): Shared<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut fields = object(&body)?;
    let customer = match fields.remove("customer") {
        Some(value) => serde_json::from_value(value)
            .map_err(|error| ApiError::BadInput(format!("customer: {error}")))?,
        None => CustomerId::from_uuid(created_id(
            &headers,
            "customer",
            CustomerId::new().as_uuid(),
        )?),
    };
    let personal_data = serde_json::json!({
        "name": fields.remove("name").unwrap_or(Value::Null),
        "contact": fields.remove("contact").unwrap_or(Value::Null),
    });
    fields.insert("customer".into(), serde_json::json!(customer));
    fields.insert("personal_data".into(), personal_data);
    fields
        .entry("at")
        .or_insert_with(|| serde_json::json!(Utc::now()));
    let registration: Registration = read(Value::Object(fields))?;
    let id = command_id(&headers)?;
    let extra = serde_json::json!({ "customer": customer });
    let command = ServiceCommand::RegisterCustomer(registration);
    run(&desk, id, vec![command], StatusCode::CREATED, extra).await
}

/// `POST /api/units`: a unit received (`model`, `serial`; `ready_for_sale: true` records it
/// commissioned and test-run too).
pub async fn receive_unit<S: DeskStore>(
    State(desk): Shared<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut fields = object(&body)?;
    let ready = fields
        .remove("ready_for_sale")
        .map(serde_json::from_value::<bool>)
        .transpose()
        .map_err(|error| ApiError::BadInput(format!("ready_for_sale: {error}")))?
        .unwrap_or(false);
    let receive: ProductCommand = command("ReceiveUnit", fields)?;
    let unit = receive.product();
    let ProductCommand::ReceiveUnit { at, .. } = &receive else {
        return Err(ApiError::BadInput("not a receipt".into()));
    };
    let at = *at;
    let mut commands = vec![ServiceCommand::Product(receive)];
    if ready {
        commands.push(ServiceCommand::Product(ProductCommand::Commission {
            product: unit,
            at,
        }));
        commands.push(ServiceCommand::Product(ProductCommand::RecordTestRun {
            product: unit,
            passed: true,
            notes: "received ready for sale".into(),
            at,
        }));
    }
    let id = command_id(&headers)?;
    let extra = serde_json::json!({ "unit": unit });
    run(&desk, id, commands, StatusCode::CREATED, extra).await
}

/// `POST /api/units/{unit}/{step}`: a step of a unit's life: `sale` (`customer`, `price`,
/// `packaging`; `warranty` and `services` optional), `delivery`, `installation`, `training`.
pub async fn unit_step<S: DeskStore>(
    State(desk): Shared<S>,
    Path((unit, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let unit: ProductId = path_id(unit, "unit")?;
    let variant = match what.as_str() {
        "sale" => "Sell",
        "delivery" => "Deliver",
        "installation" => "Install",
        "training" => "TrainUsers",
        other => {
            return Err(ApiError::NotFound(format!(
                "no step {other:?} of a unit (sale, delivery, installation, training)"
            )))
        }
    };
    let mut fields = object_or_empty(&body)?;
    fields.insert("product".into(), serde_json::json!(unit));
    if variant == "Sell" {
        fields
            .entry("services")
            .or_insert_with(|| serde_json::json!({}));
        if !fields.contains_key("warranty") {
            // The warranty the model is sold with, from the catalogue (P4).
            let terms = desk
                .blocking(move |desk| {
                    require_unit(desk, unit)?;
                    Ok(desk.service().warranty_of(unit)?)
                })
                .await?
                .ok_or_else(|| ApiError::Refused {
                    message: format!(
                        "the sale of unit {unit} names no warranty and its model has none in \
                         the catalogue: a sale carries the model's terms or its own (P4)"
                    ),
                    rule: Some("no_warranty_terms".into()),
                })?;
            fields.insert("warranty".into(), serde_json::json!(terms));
        }
    }
    let command: ProductCommand = command(variant, fields)?;
    let id = command_id(&headers)?;
    run(
        &desk,
        id,
        vec![ServiceCommand::Product(command)],
        StatusCode::OK,
        Value::Null,
    )
    .await
}

/// A 404 unless `unit` was received.
fn require_unit<S: DeskStore>(desk: &Desk<S>, unit: ProductId) -> Result<(), ApiError> {
    let stream = service_lifecycle::Product::stream_id(unit).map_err(ServiceError::from)?;
    let version = service_lifecycle::kernel::EventStore::stream_version(desk.store(), &stream)
        .map_err(ServiceError::from)?;
    if version == 0 {
        return Err(ApiError::NotFound(format!("no unit {unit} is known")));
    }
    Ok(())
}

/// The contract covering `unit` on `date` (active, from its start to its end), looked up in the
/// directory, caught up first when it has none yet (a sale's warranty contract is opened by a
/// policy).
fn covering<S: DeskStore>(
    desk: &Desk<S>,
    unit: ProductId,
    date: NaiveDate,
) -> Result<Option<ContractId>, ServiceError> {
    desk.service().find_in_directory(|directory| {
        directory
            .contracts_by_unit
            .get(&unit)
            .into_iter()
            .flatten()
            .find(|(_, span)| {
                span.status == ContractStatus::Active && span.start <= date && date <= span.end
            })
            .map(|(contract, _)| *contract)
    })
}

/// `POST /api/service-requests`: a service call on a unit (`unit`, `priority`, `kind`; `at`),
/// under the contract that covers it that day.
pub async fn open_request<S: DeskStore>(
    State(desk): Shared<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut fields = object(&body)?;
    let unit: ProductId = field(&fields, "unit")?;
    let call = CallId::from_uuid(created_id(&headers, "call", CallId::new().as_uuid())?);
    fields.insert("call".into(), serde_json::json!(call));
    fields
        .entry("at")
        .or_insert_with(|| serde_json::json!(Utc::now()));
    let at: chrono::DateTime<Utc> = field(&fields, "at")?;
    let id = command_id(&headers)?;
    let response = desk
        .blocking(move |desk| {
            require_unit(desk, unit)?;
            // A request sent again (the same key, so the same call) keeps the contract it was
            // opened under, whatever covers the unit now.
            let opened = desk
                .service()
                .directory(|directory| directory.calls.get(&call).map(|(contract, _)| *contract));
            let contract = match opened {
                Some(contract) => Some(contract),
                None => covering(desk, unit, at.date_naive())?,
            };
            let contract = contract.ok_or_else(|| ApiError::Refused {
                message: format!(
                    "unit {unit} has no active contract on {}: a service call is opened \
                         under the contract that covers the unit (S2)",
                    at.date_naive()
                ),
                rule: Some("not_covered".into()),
            })?;
            let mut fields = fields;
            fields.insert("contract".into(), serde_json::json!(contract));
            let open = command("OpenCall", fields)?;
            let outcome = desk.service().execute(
                ServiceCommand::Contract(open),
                &CommandContext::with_command_id(id),
            )?;
            desk.notify_recorded();
            Ok((outcome, contract))
        })
        .await?;
    let (outcome, contract) = response;
    let extra = serde_json::json!({ "call": call, "contract": contract });
    Ok((StatusCode::CREATED, Json(answer(Some(outcome), extra))).into_response())
}

/// `POST /api/service-requests/{call}/{step}`: `dispatch` (`technician`; `parts` as
/// `[[PART, QUANTITY], ...]`), `arrival`, `resolution` (`work`, `cost`; `parts`,
/// `training_hours`, `customer_accepts_charge`).
pub async fn request_step<S: DeskStore>(
    State(desk): Shared<S>,
    Path((call, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let call: CallId = path_id(call, "call")?;
    let variant = match what.as_str() {
        "dispatch" => "Dispatch",
        "arrival" => "Arrive",
        "resolution" => "Resolve",
        other => {
            return Err(ApiError::NotFound(format!(
                "no step {other:?} of a service request (dispatch, arrival, resolution)"
            )))
        }
    };
    let mut fields = object_or_empty(&body)?;
    fields.insert("call".into(), serde_json::json!(call));
    match variant {
        "Dispatch" => {
            fields
                .entry("parts")
                .or_insert_with(|| serde_json::json!([]));
        }
        "Resolve" => {
            fields
                .entry("parts")
                .or_insert_with(|| serde_json::json!([]));
            fields
                .entry("training_hours")
                .or_insert_with(|| serde_json::json!(0));
            fields
                .entry("customer_accepts_charge")
                .or_insert_with(|| serde_json::json!(false));
        }
        _ => {}
    }
    let id = command_id(&headers)?;
    let outcome = desk
        .blocking(move |desk| {
            let contract = desk
                .service()
                .find_in_directory(|directory| {
                    directory.calls.get(&call).map(|(contract, _)| *contract)
                })?
                .ok_or_else(|| ApiError::NotFound(format!("no service request {call} is known")))?;
            let mut fields = fields;
            fields.insert("contract".into(), serde_json::json!(contract));
            let next = command(variant, fields)?;
            let outcome = desk.service().execute(
                ServiceCommand::Contract(next),
                &CommandContext::with_command_id(id),
            )?;
            desk.notify_recorded();
            Ok(outcome)
        })
        .await?;
    Ok((StatusCode::OK, Json(answer(Some(outcome), Value::Null))).into_response())
}

/// `POST /api/parts/{part}/reservations`: parts reserved for a call (`call`, `quantity`;
/// `location` defaults to the central warehouse).
pub async fn reserve_parts<S: DeskStore>(
    State(desk): Shared<S>,
    Path(part): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut fields = object(&body)?;
    fields.insert("part".into(), Value::String(part));
    fields
        .entry("location")
        .or_insert_with(|| serde_json::json!("central_warehouse"));
    let command: PartCommand = command("Reserve", fields)?;
    let id = command_id(&headers)?;
    run(
        &desk,
        id,
        vec![ServiceCommand::Part(command)],
        StatusCode::OK,
        Value::Null,
    )
    .await
}

/// `POST /api/technicians`: a technician hired (`name`; `technician` optional).
pub async fn hire_technician<S: DeskStore>(
    State(desk): Shared<S>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut fields = object(&body)?;
    let technician = match fields.remove("technician") {
        Some(value) => serde_json::from_value(value)
            .map_err(|error| ApiError::BadInput(format!("technician: {error}")))?,
        None => TechnicianId::from_uuid(created_id(
            &headers,
            "technician",
            TechnicianId::new().as_uuid(),
        )?),
    };
    fields.insert("technician".into(), serde_json::json!(technician));
    let name: String = field(&fields, "name")?;
    let hire = command("Hire", {
        let mut hire = fields.clone();
        hire.remove("name");
        hire
    })?;
    let TechnicianCommand::Hire { at, .. } = &hire else {
        return Err(ApiError::BadInput("not a hiring".into()));
    };
    let named = TechnicianCommand::RecordName {
        technician,
        name,
        at: *at,
    };
    let id = command_id(&headers)?;
    let extra = serde_json::json!({ "technician": technician });
    run(
        &desk,
        id,
        vec![
            ServiceCommand::Technician(hire),
            ServiceCommand::Technician(named),
        ],
        StatusCode::CREATED,
        extra,
    )
    .await
}

/// The `as_of` query of a report or the dashboard.
#[derive(Debug, Deserialize)]
pub struct AsOf {
    /// The day (YYYY-MM-DD); today when absent.
    pub as_of: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AsOf {
    type Rejection = ApiError;

    /// Read from the query string by hand, so a malformed one is answered like any other bad
    /// input (a JSON 400 naming `as_of`), not with the framework's plain-text rejection.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let mut as_of = None;
        for pair in parts.uri.query().unwrap_or_default().split('&') {
            if let Some(value) = pair.strip_prefix("as_of=") {
                if as_of.is_some() {
                    return Err(ApiError::BadInput("as_of: given twice".into()));
                }
                // A date has no character a query would encode but the separators of a
                // browser's form, which it leaves as they are.
                as_of = Some(value.to_owned());
            }
        }
        Ok(Self { as_of })
    }
}

impl AsOf {
    /// The day asked for, or a 400 saying how to write one.
    pub fn day(&self) -> Result<Option<NaiveDate>, ApiError> {
        match self
            .as_of
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    ApiError::BadInput(format!("as_of: {text:?} is not a date (YYYY-MM-DD)"))
                }),
        }
    }
}

/// `read` of the reports as of `day` (its end), or of today's, which the desk keeps up to date
/// (read under their lock: nothing is copied). Blocking.
pub fn with_reports_as_of<S: DeskStore, T>(
    desk: &Desk<S>,
    day: Option<NaiveDate>,
    read: impl FnOnce(&Reports) -> T,
) -> Result<T, ServiceError> {
    match day {
        None => desk.with_reports(read),
        Some(day) => Ok(read(&Reports::read_as_of_day(desk.store(), day)?)),
    }
}

/// A report by its name (`pre-sale`, `backlog`, ...), or a 404 naming them.
pub fn report_named(name: &str) -> Result<ReportName, ApiError> {
    ReportName::ALL
        .into_iter()
        .find(|report| report.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = ReportName::ALL
                .iter()
                .map(|report| report.as_str())
                .collect();
            ApiError::NotFound(format!(
                "no report {name:?} (the reports: {})",
                names.join(", ")
            ))
        })
}

/// `GET /api/reports/{name}?as_of=YYYY-MM-DD`: one report as a JSON document, with the names
/// shown for its ids.
pub async fn report<S: DeskStore>(
    State(desk): Shared<S>,
    Path(name): Path<String>,
    as_of: AsOf,
) -> Result<Response, ApiError> {
    let name = report_named(&name)?;
    let day = as_of.day()?;
    let document = desk
        .blocking(move |desk| {
            let today = day.unwrap_or_else(|| Utc::now().date_naive());
            let mut out = Vec::new();
            with_reports_as_of(desk, day, |reports| {
                write_report(
                    &mut out,
                    reports,
                    Some(desk.store()),
                    name,
                    Format::Json,
                    ReportOptions::new(today),
                )
            })?
            .map_err(|error| ApiError::Unavailable(error.to_string()))?;
            Ok(out)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], document).into_response())
}
