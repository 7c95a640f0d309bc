//! The `userbpf` command-line tool.
//!
//! Takes command-line arguments; parses them (clap), calls the userbpf libraries and prints.
//! Exit codes: 0 success, 1 the program under test failed (trap, rejection), 2 bad input or
//! usage (malformed files, bad arguments).

mod cli;
mod cmd;
mod hex;

use std::process::ExitCode;

use clap::Parser;

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// Bad input or usage: exit code 2.
    pub fn input(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: 2,
            error: error.into(),
        }
    }

    /// Some programs were rejected by the verifier: exit code 1, the output says which.
    pub fn rejected(count: usize) -> Failure {
        Failure {
            code: 1,
            error: anyhow::anyhow!("{count} program(s) rejected"),
        }
    }

    /// The program under test failed: exit code 1.
    pub fn program(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code: 1,
            error: error.into(),
        }
    }
}

/// Result of a command.
pub type CmdResult = Result<(), Failure>;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`userbpf trace ... | head`) instead of failing on the next write.
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    match cmd::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("userbpf: error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}
