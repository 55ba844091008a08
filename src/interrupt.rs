//! Ctrl-C: the first one asks the run to stop cleanly — runs in progress stop at their
//! next progress report, runs not started are skipped, and every scenario that had
//! finished is still written; a second one exits at once. Files are always written under a
//! temporary name and renamed, so neither leaves a half-written file.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The exit status of a process stopped by SIGINT, by shell convention.
pub const EXIT_STATUS: u8 = 130;

/// Installs the Ctrl-C handler. Failing to install one (a handler already set by an
/// embedding program) only means Ctrl-C keeps its default meaning.
pub fn install_handler() {
    let _ = ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_STATUS));
        }
        crate::app::console::errln!(
            "\nlbsim: interrupted: finishing what is done (Ctrl-C again to quit at once)"
        );
    });
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
