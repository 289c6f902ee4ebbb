//! Ctrl-C, handled: a long run stops at a clean point and says so, with exit code 130.
//!
//! [`install`] sets a handler once. A loop that can stop cleanly (the simulation, the dealership's
//! days) polls [`requested`] and finishes the step it is in; any other command is ended by the
//! handler itself after it prints `message`, which tells the user the state the store is in (it
//! is always consistent: appends are atomic and the store is crash-safe).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALLED: Once = Once::new();

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_CODE: u8 = 130;

/// Installs the handler. With `Some(message)` the handler prints it and ends the process at
/// once; with `None` it only records the request for [`requested`]. Calling it again does
/// nothing; if no handler can be installed, Ctrl-C keeps its default effect.
pub fn install(message: Option<&'static str>) {
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(move || {
            REQUESTED.store(true, Ordering::SeqCst);
            if let Some(message) = message {
                eprintln!("\ninterrupted: {message}");
                std::process::exit(i32::from(EXIT_CODE));
            }
        });
    });
}

/// Whether Ctrl-C was pressed since [`install`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
