//! A first look at the kernel: an aggregate defined in a few lines, commands executed through a
//! repository on the in-memory store, an idempotent retry, a rejected command, and a projection
//! that answers a question over every stream.
//!
//! Run: `cargo run --example quickstart`

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use service_lifecycle::kernel::{
    CommandContext, CommandId, Decider, Envelope, Event, EventSchema, ExecuteError, MemoryStore,
    Projection, Projector, Repository, StreamId,
};

/// What happened to one demonstration unit on the showroom floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
enum ShowroomEvent {
    #[serde(rename = "showroom.unit_placed")]
    UnitPlaced { model: String },
    #[serde(rename = "showroom.demonstrated")]
    Demonstrated { minutes: u32 },
}

impl Event for ShowroomEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::UnitPlaced { .. } => "showroom.unit_placed",
            Self::Demonstrated { .. } => "showroom.demonstrated",
        }
    }
    fn catalogue() -> Vec<EventSchema> {
        vec![
            EventSchema {
                event_type: "showroom.unit_placed",
                schema_version: 1,
            },
            EventSchema {
                event_type: "showroom.demonstrated",
                schema_version: 1,
            },
        ]
    }
}

#[derive(Debug)]
enum ShowroomCommand {
    Place { model: String },
    Demonstrate { minutes: u32 },
}

#[derive(Debug, thiserror::Error)]
enum ShowroomError {
    #[error("the unit is already on the floor")]
    AlreadyPlaced,
    #[error("only a unit on the floor can be demonstrated")]
    NotPlaced,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Unit {
    model: Option<String>,
    demonstrations: u32,
}

struct ShowroomUnit;

impl Decider for ShowroomUnit {
    type State = Unit;
    type Command = ShowroomCommand;
    type Event = ShowroomEvent;
    type Error = ShowroomError;

    fn apply(state: &mut Unit, event: &ShowroomEvent) {
        match event {
            ShowroomEvent::UnitPlaced { model } => state.model = Some(model.clone()),
            ShowroomEvent::Demonstrated { .. } => state.demonstrations += 1,
        }
    }

    fn decide(
        state: &Unit,
        command: &ShowroomCommand,
    ) -> Result<Vec<ShowroomEvent>, ShowroomError> {
        match (command, &state.model) {
            (ShowroomCommand::Place { .. }, Some(_)) => Err(ShowroomError::AlreadyPlaced),
            (ShowroomCommand::Place { model }, None) => Ok(vec![ShowroomEvent::UnitPlaced {
                model: model.clone(),
            }]),
            (ShowroomCommand::Demonstrate { .. }, None) => Err(ShowroomError::NotPlaced),
            (ShowroomCommand::Demonstrate { minutes }, Some(_)) => {
                Ok(vec![ShowroomEvent::Demonstrated { minutes: *minutes }])
            }
        }
    }
}

/// Minutes of demonstration per model, over every unit.
#[derive(Default)]
struct MinutesPerModel {
    model_of_unit: BTreeMap<String, String>,
    minutes: BTreeMap<String, u32>,
}

impl Projection<ShowroomEvent> for MinutesPerModel {
    fn apply(&mut self, envelope: &Envelope<ShowroomEvent>) {
        let unit = envelope.stream_id.to_string();
        match &envelope.event {
            ShowroomEvent::UnitPlaced { model } => {
                self.model_of_unit.insert(unit, model.clone());
            }
            ShowroomEvent::Demonstrated { minutes } => {
                if let Some(model) = self.model_of_unit.get(&unit) {
                    *self.minutes.entry(model.clone()).or_default() += minutes;
                }
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::<ShowroomEvent>::new();
    let units = Repository::<ShowroomUnit, _, _>::new(store.clone()).with_state_cache(100);
    let washer = StreamId::for_entity("unit", "WM-1001")?;
    let fridge = StreamId::for_entity("unit", "RF-2002")?;

    units.execute(
        &washer,
        &ShowroomCommand::Place {
            model: "WM-7".into(),
        },
        &CommandContext::new(),
    )?;
    units.execute(
        &fridge,
        &ShowroomCommand::Place {
            model: "RF-3".into(),
        },
        &CommandContext::new(),
    )?;

    // A client retries a request after a timeout: the command id makes it happen once.
    let request = CommandContext::with_command_id(CommandId::new());
    let demo = ShowroomCommand::Demonstrate { minutes: 25 };
    let first = units.execute(&washer, &demo, &request)?;
    let retry = units.execute(&washer, &demo, &request)?;
    println!(
        "demonstration recorded at version {}; the retry replayed it: {} (version still {})",
        first.version, retry.replayed, retry.version
    );
    units.execute(
        &fridge,
        &ShowroomCommand::Demonstrate { minutes: 10 },
        &CommandContext::new(),
    )?;

    // A rule is a typed error, and nothing is written.
    let missing = StreamId::for_entity("unit", "TV-404")?;
    match units.execute(
        &missing,
        &ShowroomCommand::Demonstrate { minutes: 5 },
        &CommandContext::new(),
    ) {
        Err(ExecuteError::Rejected(rule)) => println!("rejected: {rule}"),
        other => println!("unexpected: {other:?}"),
    }

    // A projection answers a question across every unit.
    let mut report = Projector::new("minutes-per-model", MinutesPerModel::default());
    report.catch_up(&store, &store)?;
    for (model, minutes) in &report.projection().minutes {
        println!("{model}: {minutes} minutes of demonstration");
    }
    println!(
        "the report has read the store up to position {}",
        report.position()
    );
    Ok(())
}
