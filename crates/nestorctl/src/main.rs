//! `nestorctl` binary: parses the command line, loads `nestorctl.conf`, runs the command.

use std::process::ExitCode;

fn main() -> ExitCode {
    let env = nestorctl::Environment::from_process();
    let code = nestorctl::cli::run(
        std::env::args_os().skip(1),
        &env,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}
