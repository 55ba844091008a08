//! The `lbsim` binary: parse the command line, hand it to the library, exit with its status.

use clap::Parser;

fn main() -> std::process::ExitCode {
    lbsim::app::main(lbsim::cli::Cli::parse())
}
