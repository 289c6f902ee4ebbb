//! The line durable appends wait in, so that one durable write carries many of them.
//!
//! An append joins the line and waits. If no one leads, it leads: it takes the writer lock,
//! takes the appends waiting (after waiting a moment, if fewer are there than the last group
//! had, for the others of that group to come back), writes them as one durable batch, settles
//! each one's outcome, and wakes the rest. Appends that arrive meanwhile form the next group.
//! A leader never waits longer than half its last write took (at most
//! [`MAX_GATHER`]), and not at all when the last group was a single append, so a lone writer
//! pays nothing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use service_lifecycle_kernel::{AppendError, AppendResult, ExpectedVersion, NewEvent, StreamId};

/// The longest a leader waits for the rest of a group.
pub(crate) const MAX_GATHER: Duration = Duration::from_millis(1);

/// An append waiting to be committed with others in one durable batch, and where its outcome
/// goes.
pub(crate) struct PendingAppend<E> {
    pub(crate) stream: StreamId,
    pub(crate) expected: ExpectedVersion,
    pub(crate) events: Vec<NewEvent<E>>,
    pub(crate) bodies: Vec<Vec<u8>>,
    pub(crate) outcome: std::sync::Arc<Outcome>,
}

/// Where the leader of a group puts an append's outcome.
pub(crate) type Outcome = Mutex<Option<Result<AppendResult, AppendError>>>;

/// Puts an append's outcome.
pub(crate) fn settle(outcome: &Outcome, result: Result<AppendResult, AppendError>) {
    *outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
}

fn settled(outcome: &Outcome) -> Option<Result<AppendResult, AppendError>> {
    outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

struct Line<E> {
    waiting: Vec<PendingAppend<E>>,
    leading: bool,
}

/// The line of durable appends (see the module docs).
pub(crate) struct AppendQueue<E> {
    line: Mutex<Line<E>>,
    /// An append joined the line.
    arrived: Condvar,
    /// A leader finished a group.
    done: Condvar,
    last_group: AtomicUsize,
    last_write_nanos: AtomicU64,
}

impl<E> Default for AppendQueue<E> {
    fn default() -> Self {
        Self {
            line: Mutex::new(Line {
                waiting: Vec::new(),
                leading: false,
            }),
            arrived: Condvar::new(),
            done: Condvar::new(),
            last_group: AtomicUsize::new(1),
            last_write_nanos: AtomicU64::new(0),
        }
    }
}

impl<E> AppendQueue<E> {
    fn lock(&self) -> MutexGuard<'_, Line<E>> {
        self.line.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `append` in line and returns its outcome; `lead` runs whenever this thread leads,
    /// and must take a group ([`AppendQueue::take_group`]) and settle every append in it.
    pub(crate) fn submit(
        &self,
        append: PendingAppend<E>,
        mut lead: impl FnMut(&Self),
    ) -> Result<AppendResult, AppendError> {
        let outcome = std::sync::Arc::clone(&append.outcome);
        let mut line = self.lock();
        line.waiting.push(append);
        self.arrived.notify_one();
        loop {
            if let Some(result) = settled(&outcome) {
                return result;
            }
            if line.leading {
                line = self.done.wait(line).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            line.leading = true;
            drop(line);
            // Whatever happens in `lead`, the line gets a new leader afterwards.
            let guard = LeaderGuard { queue: self };
            lead(self);
            drop(guard);
            line = self.lock();
        }
    }

    /// The appends waiting, for the leader: at once, or after waiting a moment (see the module
    /// docs) for as many as the last group had.
    pub(crate) fn take_group(&self) -> Vec<PendingAppend<E>> {
        let wanted = self.last_group.load(Ordering::Relaxed);
        let gather =
            Duration::from_nanos(self.last_write_nanos.load(Ordering::Relaxed) / 2).min(MAX_GATHER);
        let deadline = Instant::now() + gather;
        let mut line = self.lock();
        while line.waiting.len() < wanted {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            line = self
                .arrived
                .wait_timeout(line, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let group = std::mem::take(&mut line.waiting);
        self.last_group.store(group.len().max(1), Ordering::Relaxed);
        group
    }

    /// Records how long a group's durable write took.
    pub(crate) fn wrote(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.last_write_nanos.store(nanos, Ordering::Relaxed);
    }
}

/// Hands the line on when a leader is done (or unwinds).
struct LeaderGuard<'a, E> {
    queue: &'a AppendQueue<E>,
}

impl<E> Drop for LeaderGuard<'_, E> {
    fn drop(&mut self) {
        let mut line = self.queue.lock();
        line.leading = false;
        self.queue.done.notify_all();
    }
}
