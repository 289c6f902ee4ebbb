//! The policies' subscription of the store: the directory and the policies follow the global
//! log from a checkpoint kept in the store, so a restart resumes where the last run stopped and
//! completes the reactions it had not finished.
//!
//! At-least-once with idempotent commands is exactly once in effect: every policy command's id is
//! derived from its trigger, so a reaction issued again (after a crash before the checkpoint was
//! saved, or by a second process following the same store) is recognised by the store and
//! writes nothing. The checkpoint is saved only at a position through which every reaction is
//! done, so nothing pending is ever skipped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::{execute, ServiceLifecycle, POLICY_CHECKPOINT};
use crate::coverage::UnitCoverage;
use crate::customer::Customer;
use crate::directory::Directory;
use crate::error::ServiceError;
use crate::events::ServiceEvent;
use crate::kernel::{
    derived_uuid, Causation, CheckpointStore, CommandContext, CommandId, Envelope, EventId,
    EventStore, Projection, SavedReadModel,
};
use crate::parts::PartsSupply;
use crate::policies::{policy_command_id, react_to, Reaction};
use crate::policy_log::{PolicyFailure, PolicyLog, RecordRefusal};

/// How many events the followers read per page.
const FOLLOW_PAGE: usize = 1_024;

/// How many events may pass between two saves of the checkpoint and the directory, at least:
/// what a restart folds and reacts to again (writing nothing, as the reactions are recognised).
const CHECKPOINT_EVERY: u64 = 65_536;
/// How many nanoseconds of a save each event may carry: a save (the whole directory encoded)
/// takes longer as the directory grows, so the saves are spaced by what the last one took, at
/// least [`CHECKPOINT_EVERY`] events apart, and no command pays more than this for them on
/// average, however large the directory.
const SAVE_NANOS_PER_EVENT: u64 = 100;

/// The version of the saved directory's shape: a saved directory of another version is ignored
/// and the directory folded from the log instead (it is a cache of the log, never the truth).
const DIRECTORY_VERSION: u32 = 1;

/// The directory as saved with the followers' checkpoint (written from a borrow, read back
/// owned).
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedDirectory<D> {
    version: u32,
    directory: D,
}

/// The pauses before each retry of a policy command that failed for a reason a retry can mend
/// (the store, a lost race); after the last it stays pending.
const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(5),
    Duration::from_millis(25),
    Duration::from_millis(125),
];

/// The id of the command that records the refusal of policy command `command_id`.
fn refusal_command_id(command_id: CommandId) -> CommandId {
    CommandId::from_uuid(derived_uuid(command_id.as_uuid(), b"policy refusal"))
}

/// A reaction called for and not yet done.
struct Pending {
    trigger: Arc<Envelope<ServiceEvent>>,
    index: u32,
    policy: &'static str,
    reaction: Reaction,
}

/// The directory and the policies, following the log.
pub(super) struct Followers {
    /// The directory, folded through `position`.
    pub(super) directory: Directory,
    position: u64,
    /// Events at or before this position had their reactions done by an earlier run.
    react_after: u64,
    /// The checkpoint as last saved.
    saved: u64,
    /// How many events after `saved` the next save comes.
    save_every: u64,
    pending: VecDeque<Pending>,
}

impl Followers {
    /// Followers that fold the log from its start and react to what comes after `checkpoint`.
    pub(super) fn resuming_after(checkpoint: u64) -> Self {
        Self {
            directory: Directory::default(),
            position: 0,
            react_after: checkpoint,
            saved: checkpoint,
            save_every: CHECKPOINT_EVERY,
            pending: VecDeque::new(),
        }
    }

    /// Followers resuming from what `store` saved: the directory as of its position, when one
    /// was saved in this version's shape and is not ahead of the log, and the checkpoint of the
    /// reactions done; otherwise the directory is folded from the log's start.
    pub(super) fn resuming_from<S>(store: &S) -> Result<Self, ServiceError>
    where
        S: EventStore<ServiceEvent> + CheckpointStore,
    {
        let checkpoint = store.load_checkpoint(POLICY_CHECKPOINT)?;
        let head = store.head_position()?;
        let saved = store
            .load_read_model(POLICY_CHECKPOINT)?
            .filter(|saved| saved.position <= head)
            .and_then(|saved| {
                let decoded: SavedDirectory<Directory> =
                    serde_json::from_slice(&saved.state).ok()?;
                (decoded.version == DIRECTORY_VERSION)
                    .then_some((saved.position, decoded.directory))
            });
        Ok(match saved {
            Some((position, directory)) => Self {
                directory,
                position,
                // Both are saved only where every reaction is done.
                react_after: checkpoint.max(position),
                saved: checkpoint.max(position),
                save_every: CHECKPOINT_EVERY,
                pending: VecDeque::new(),
            },
            None => Self::resuming_after(checkpoint),
        })
    }

    /// Saves the checkpoint at the last position through which every reaction is done, if it
    /// moved since the last save, and with it the directory when nothing is pending (the
    /// directory is then folded through exactly that position), in one write.
    pub(super) fn save_checkpoint(
        &mut self,
        store: &impl CheckpointStore,
    ) -> Result<(), ServiceError> {
        let done_through = match self.pending.front() {
            Some(pending) => pending.trigger.position.saturating_sub(1),
            None => self.react_after.max(self.position),
        };
        if done_through <= self.saved {
            return Ok(());
        }
        let started = std::time::Instant::now();
        // Every field of the directory serializes; should one ever not, the checkpoint is still
        // saved and the directory folded from the log at the next opening.
        let state = (self.pending.is_empty() && done_through == self.position)
            .then(|| {
                serde_json::to_vec(&SavedDirectory {
                    version: DIRECTORY_VERSION,
                    directory: &self.directory,
                })
                .ok()
            })
            .flatten();
        match state {
            // One write: the store saves the checkpoint with the directory (a store that keeps
            // no read models saves the checkpoint alone).
            Some(state) => store.save_read_model(
                POLICY_CHECKPOINT,
                &SavedReadModel {
                    position: done_through,
                    state,
                },
            )?,
            None => store.save_checkpoint(POLICY_CHECKPOINT, done_through)?,
        }
        self.saved = done_through;
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.save_every = CHECKPOINT_EVERY.max(took / SAVE_NANOS_PER_EVENT);
        Ok(())
    }

    /// Runs what is pending, then reads the log page by page to its head, folding each event
    /// into the directory and running the reactions it calls for. Returns how many events it
    /// read. A reaction that still fails after its retries stops the catch-up with its error and
    /// stays pending for the next one.
    pub(super) fn catch_up<S>(&mut self, service: &ServiceLifecycle<S>) -> Result<u64, ServiceError>
    where
        S: EventStore<ServiceEvent> + CheckpointStore + Clone,
    {
        let mut read = 0;
        loop {
            while let Some(pending) = self.pending.front() {
                service.run_reaction(pending)?;
                self.pending.pop_front();
            }
            self.react_after = self.react_after.max(self.position);
            if self.position >= self.saved + self.save_every {
                self.save_checkpoint(&service.store)?;
            }
            let mut page = 0;
            for stored in service.store.read_all(self.position + 1)?.take(FOLLOW_PAGE) {
                let stored = stored?;
                self.directory.apply(&stored);
                self.position = stored.position;
                page += 1;
                if stored.position <= self.react_after {
                    continue;
                }
                let called_for = react_to(&self.directory, &stored, &*service.plans);
                if called_for.is_empty() {
                    continue;
                }
                let trigger = Arc::new(stored.into_owned());
                for (index, (policy, reaction)) in (0u32..).zip(called_for) {
                    self.pending.push_back(Pending {
                        trigger: Arc::clone(&trigger),
                        index,
                        policy,
                        reaction,
                    });
                }
            }
            if page == 0 {
                return Ok(read);
            }
            read += page;
        }
    }
}

impl<S: EventStore<ServiceEvent> + CheckpointStore + Clone> ServiceLifecycle<S> {
    /// Issues one policy command. A refusal by the rules is recorded in the policy log and
    /// counts as done; another failure is retried after each pause of [`RETRY_BACKOFF`] and
    /// then returned.
    fn run_reaction(&self, pending: &Pending) -> Result<(), ServiceError> {
        let command_id = policy_command_id(pending.trigger.event_id, pending.index);
        // Refused once, refused for good: a later run (a restart before the checkpoint, another
        // process, a replay) does not issue it again when the state has changed since.
        let refused = EventId::derived(refusal_command_id(command_id), 0);
        if self.store.find_event(refused)?.is_some() {
            return Ok(());
        }
        let context = CommandContext::with_command_id(command_id)
            .caused_by(Causation::following(&pending.trigger));
        let mut pauses = RETRY_BACKOFF.iter();
        loop {
            let outcome = match &pending.reaction {
                Reaction::Customer(command) => execute(
                    &self.customers,
                    Customer::stream_id(command.customer()),
                    command,
                    &context,
                )
                .map(drop),
                Reaction::Contract(command) => self.execute_contract(command, &context).map(drop),
                Reaction::Part(command) => execute(
                    &self.parts,
                    PartsSupply::stream_id(command.part()),
                    command,
                    &context,
                )
                .map(drop),
                Reaction::Coverage(command) => execute(
                    &self.coverage,
                    UnitCoverage::stream_id(command.unit()),
                    command,
                    &context,
                )
                .map(drop),
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(error) if error.is_rejection() || error.is_permanent_failure() => {
                    return self.record_refusal(pending, command_id, &error);
                }
                Err(error) => match pauses.next() {
                    Some(pause) => std::thread::sleep(*pause),
                    None => return Err(error),
                },
            }
        }
    }

    /// Records in the policy log that the rules refused a policy command, once per command.
    fn record_refusal(
        &self,
        pending: &Pending,
        command_id: CommandId,
        error: &ServiceError,
    ) -> Result<(), ServiceError> {
        let command = match &pending.reaction {
            Reaction::Customer(command) => format!("{command:?}"),
            Reaction::Contract(command) => format!("{command:?}"),
            Reaction::Part(command) => format!("{command:?}"),
            Reaction::Coverage(command) => format!("{command:?}"),
        };
        let failure = PolicyFailure {
            policy: pending.policy.to_owned(),
            trigger: pending.trigger.event_id.as_uuid(),
            trigger_position: pending.trigger.position,
            command,
            error: error.to_string(),
            at: pending
                .trigger
                .event
                .occurred_at()
                .unwrap_or(pending.trigger.recorded_at),
        };
        let context = CommandContext::with_command_id(refusal_command_id(command_id))
            .caused_by(Causation::following(&pending.trigger));
        self.policy_log
            .execute(&PolicyLog::stream_id()?, &RecordRefusal(failure), &context)?;
        Ok(())
    }
}
