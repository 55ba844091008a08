//! The terminal: every line lbsim prints goes through `outln!` (stdout) or `errln!`
//! (stderr), never `println!`/`eprintln!`.
//!
//! Those panic when the stream is gone (`lbsim run 2>&1 | head -1` closes it), and a
//! panic turns the run's status into 101. What lbsim promises is its exit status and the
//! files it writes; what it prints is for a reader, and when no one reads any more there
//! is nothing to tell. So a failed write (a closed pipe, or any other error) silences that
//! stream for the rest of the process, quietly, and the command goes on to its usual end
//! and status: a bad scenario still exits 2 having written nothing, a run still writes
//! its results. (The progress bar needs none of this: indicatif draws only on a terminal
//! and ignores its own write errors.)

use std::fmt::Arguments;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to stdout has failed.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// Set once a write to stderr has failed.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes to stdout, unless it has failed before; a failure silences it.
pub fn out(text: Arguments<'_>) {
    write(std::io::stdout().lock(), &STDOUT_GONE, text);
}

/// Writes to stderr, unless it has failed before; a failure silences it.
pub fn err(text: Arguments<'_>) {
    write(std::io::stderr().lock(), &STDERR_GONE, text);
}

fn write(mut stream: impl Write, gone: &AtomicBool, text: Arguments<'_>) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    if stream
        .write_fmt(text)
        .and_then(|()| stream.flush())
        .is_err()
    {
        gone.store(true, Ordering::Relaxed);
    }
}

/// `println!` that never panics: see the module's documentation.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::app::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics: see the module's documentation.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::app::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, outln};

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream whose reader has gone: every write fails as a closed pipe does.
    struct ClosedPipe {
        writes: usize,
    }

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.writes += 1;
            Err(std::io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_silences_the_stream_instead_of_panicking() {
        let gone = AtomicBool::new(false);
        let mut pipe = ClosedPipe { writes: 0 };
        write(&mut pipe, &gone, format_args!("first\n"));
        assert!(gone.load(Ordering::Relaxed));
        assert_eq!(pipe.writes, 1);
        write(&mut pipe, &gone, format_args!("second\n"));
        assert_eq!(pipe.writes, 1, "a silenced stream is not written again");
    }

    #[test]
    fn a_working_stream_gets_every_line() {
        let gone = AtomicBool::new(false);
        let mut buffer = Vec::new();
        write(&mut buffer, &gone, format_args!("a {}\n", 1));
        write(&mut buffer, &gone, format_args!("b\n"));
        assert_eq!(buffer, b"a 1\nb\n");
        assert!(!gone.load(Ordering::Relaxed));
    }
}
