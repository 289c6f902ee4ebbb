//! Live delivery: one thread per store LISTENs on the store's channel and wakes the readers
//! waiting in `wait_for_commit` as soon as the sequencer of any process numbers new events.
//! If the connection fails, the thread connects again; meanwhile waiters poll the head.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use fallible_iterator::FallibleIterator;
use postgres::NoTls;
use service_lifecycle_kernel::Event;

use crate::store::{Inner, PostgresStore};

/// Starts the listener thread of `store`; it ends once the store is dropped.
pub(crate) fn start<E: Event>(store: &PostgresStore<E>, config: postgres::Config) {
    let weak: Weak<Inner<E>> = std::sync::Arc::downgrade(&store.inner);
    let closed = std::sync::Arc::clone(&store.inner.closed);
    // The pool's configuration: it waits no longer than the pool's connections for the server.
    let channel = store.channel();
    let _ = std::thread::Builder::new()
        .name(format!("{channel}-listener"))
        .spawn(move || {
            while !closed.load(Ordering::SeqCst) {
                let Ok(mut client) = config.connect(NoTls) else {
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                };
                if client
                    .batch_execute(&format!("LISTEN \"{channel}\""))
                    .is_err()
                {
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
                loop {
                    if closed.load(Ordering::SeqCst) {
                        return;
                    }
                    let next = client
                        .notifications()
                        .timeout_iter(Duration::from_millis(200))
                        .next();
                    match next {
                        Ok(Some(notification)) => {
                            let Some(inner) = weak.upgrade() else { return };
                            if let Ok(head) = notification.payload().parse::<u64>() {
                                let store = PostgresStore { inner };
                                store.saw_head(head);
                            }
                        }
                        Ok(None) => {}
                        Err(_) => break,
                    }
                    if client.is_closed() {
                        break;
                    }
                }
            }
        });
}
