//! `service-lifecycle exec`: commands given as JSON Lines (one [`CommandLine`] per line, the
//! form docs/commands.md documents and `docs/schemas/command-line.schema.json` describes), each
//! run through the application, with one result line per command on the output.
//!
//! A command the rules refuse, or a line that is not a command, is reported and the next line
//! runs; a failure of the store stops the run (what ran before it stays recorded). Each line
//! carries its command's id, so running the same file again records nothing new: every line
//! answers `replayed`.

use std::io::{BufRead, Write};

use serde::Serialize;
use service_lifecycle_core::kernel::{CheckpointStore, CommandContext, EventStore};
use service_lifecycle_core::{CommandLine, ServiceError, ServiceEvent, ServiceLifecycle};

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The command was recorded now.
    Recorded,
    /// The command was valid and had nothing to record (done already, in effect).
    Unchanged,
    /// The command id had run before: nothing was written now.
    Replayed,
    /// The rules refused it, or its id was used before for another command; nothing was
    /// written.
    Refused,
    /// The line is not a command; nothing was written.
    Invalid,
    /// The store failed; the run stops here.
    Failed,
}

/// One result line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultLine {
    /// The line of the input (1 is the first).
    pub line: u64,
    /// The command's id, when the line had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    /// What became of it.
    pub result: Outcome,
    /// The stream it was recorded in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The stream's version after it (for a replayed command: the stream's version now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The types of the events it recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<&'static str>,
    /// Why it was refused, is invalid or failed, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How many lines ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecSummary {
    /// Recorded now.
    pub recorded: u64,
    /// Valid, nothing to record.
    pub unchanged: u64,
    /// Run before.
    pub replayed: u64,
    /// Refused by the rules.
    pub refused: u64,
    /// Not commands.
    pub invalid: u64,
}

impl ExecSummary {
    /// Whether every line was a command the rules accepted (now or before).
    pub fn all_accepted(&self) -> bool {
        self.refused == 0 && self.invalid == 0
    }
}

/// Why a run stopped before its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// Reading the input or writing a result failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The store failed at a line; the lines before it are recorded, it and the rest are not.
    #[error("line {line}: {error} (the lines before it are recorded; it and the ones after are not: run the file again once the store is back, and the recorded ones answer `replayed`)")]
    Store {
        /// The line.
        line: u64,
        /// What failed.
        error: Box<ServiceError>,
    },
}

/// Runs every command of `input` through `service`, writing one [`ResultLine`] per command to
/// `out` as JSON.
pub fn exec<S: EventStore<ServiceEvent> + CheckpointStore + Clone>(
    service: &ServiceLifecycle<S>,
    input: impl BufRead,
    out: &mut dyn Write,
) -> Result<ExecSummary, ExecError> {
    let mut summary = ExecSummary::default();
    let mut input = input;
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            break;
        }
        line += 1;
        // A line that is not UTF-8 is not a command; the next one still runs.
        let text = String::from_utf8_lossy(&bytes);
        if text.trim().is_empty() {
            continue;
        }
        let mut result = ResultLine {
            line,
            id: None,
            result: Outcome::Invalid,
            stream: None,
            version: None,
            events: Vec::new(),
            error: None,
        };
        let parsed = match std::str::from_utf8(&bytes) {
            Ok(text) => {
                serde_json::from_str::<CommandLine>(text).map_err(|error| error.to_string())
            }
            Err(error) => Err(format!("the line is not UTF-8 ({error})")),
        };
        let stop = match parsed {
            Err(error) => {
                result.error = Some(format!("not a command: {error}"));
                summary.invalid += 1;
                None
            }
            Ok(command) => {
                result.id = Some(command.id.as_uuid());
                let context = CommandContext::with_command_id(command.id);
                match service.execute(command.command, &context) {
                    Ok(outcome) => {
                        result.result = if outcome.replayed {
                            summary.replayed += 1;
                            Outcome::Replayed
                        } else if outcome.events.is_empty() {
                            summary.unchanged += 1;
                            Outcome::Unchanged
                        } else {
                            summary.recorded += 1;
                            Outcome::Recorded
                        };
                        result.stream = Some(outcome.stream);
                        result.version = Some(outcome.version);
                        result.events = outcome.events;
                        None
                    }
                    // A refusal, or a mistake of the sender (a command id used before for
                    // another command): this line is answered, the next one runs.
                    Err(error) if error.is_rejection() || error.is_permanent_failure() => {
                        result.result = Outcome::Refused;
                        result.error = Some(error.to_string());
                        summary.refused += 1;
                        None
                    }
                    Err(error) => {
                        result.result = Outcome::Failed;
                        result.error = Some(error.to_string());
                        Some(error)
                    }
                }
            }
        };
        serde_json::to_writer(&mut *out, &result).map_err(std::io::Error::other)?;
        writeln!(out)?;
        if let Some(error) = stop {
            out.flush()?;
            return Err(ExecError::Store {
                line,
                error: Box::new(error),
            });
        }
    }
    out.flush()?;
    Ok(summary)
}
