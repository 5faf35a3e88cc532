//! `nestor-dhcp4`: the Nestor DHCPv4 server, counterpart of `kea-dhcp4` 2.2, with Kea's command
//! line (see [`cli`]): `-c FILE` serves, `-t FILE` checks a configuration.
//!
//! Start-up as Kea's: load and validate the configuration (exit 1 on error), set up logging
//! from `loggers`, create the PID file (exit 1 if another server with this configuration
//! runs), open the lease store, sockets and control socket, then serve until SIGTERM/SIGINT or
//! the `shutdown` command (exit code 0, or the command's `exit-value`).

mod cli;

use std::path::Path;
use std::process::ExitCode;

use std::sync::Arc;

use cli::Action;
use nestor_dhcp4::logging::{self, LogSetup};
use nestor_dhcp4::pidfile::{self, PidFile};
use nestor_dhcp4::server::{self, RunOptions, Server};

const NAME: &str = "nestor-dhcp4";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    match cli::parse(std::env::args_os().skip(1)) {
        Err(err) => {
            eprintln!(
                "{NAME}: {err}\nNestor DHCPv4 server, version {VERSION}\n\n{}",
                cli::USAGE
            );
            ExitCode::FAILURE
        }
        Ok(Action::Version) => {
            println!("{VERSION}");
            ExitCode::SUCCESS
        }
        Ok(Action::ExtendedVersion) => {
            println!("{VERSION}\n{}", build_details());
            ExitCode::SUCCESS
        }
        Ok(Action::ConfigReport) => {
            println!("{}", nestor_dhcp4::control::build_report());
            ExitCode::SUCCESS
        }
        Ok(Action::Check(options)) => check(&options.config),
        Ok(Action::Run(options)) => run(&options),
    }
}

fn build_details() -> String {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "target: {}-{}\nprofile: {profile}",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// `-t FILE`: parse and validate, print every error at once (Kea prints only the first), and
/// exit 1 if there is any. Warnings (deprecated keys, extraneous commas) go to stderr too.
fn check(path: &Path) -> ExitCode {
    match nestor_config::load_dhcp4_file(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("WARN  {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("Syntax check failed with:");
            for error in &errors.errors {
                eprintln!("  {error}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `-c FILE`: serve.
fn run(options: &cli::Options) -> ExitCode {
    let cfg = match server::load_config(&options.config) {
        Ok(cfg) => Arc::new(cfg),
        Err(e) => {
            eprintln!(
                "ERROR [kea-dhcp4.dhcp4] DHCP4_INIT_FAIL failed to initialize Nestor server: configuration error using file '{}': {e}",
                options.config.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let log = match LogSetup::open(&cfg.loggers, options.debug).and_then(logging::install) {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _pid = match PidFile::create(&pidfile::path_for(&options.config, None)) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(target: "kea-dhcp4.dhcp4", id = "DHCP4_ALREADY_RUNNING", "{e}");
            eprintln!("{NAME}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let workers = if cfg.multi_threading.enable && cfg.multi_threading.thread_pool_size > 0 {
        usize::try_from(cfg.multi_threading.thread_pool_size).unwrap_or(1)
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("nestor-dhcp4")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{NAME}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = RunOptions {
        config_path: options.config.clone(),
        server_port: options
            .server_port
            .unwrap_or(nestor_dhcp4::net::SERVER_PORT),
        client_port: options
            .client_port
            .unwrap_or(nestor_dhcp4::net::CLIENT_PORT),
        debug: options.debug,
    };
    let code = runtime.block_on(async move {
        let store = {
            let cfg = cfg.clone();
            match tokio::task::spawn_blocking(move || server::open_store(&cfg)).await {
                Ok(Ok(store)) => store,
                Ok(Err(e)) => return fail(&e),
                Err(e) => return fail(&e),
            }
        };
        match Server::start(opts, cfg, store, Some(log)) {
            Ok(server) => server.run().await,
            Err(e) => fail(&e),
        }
    });
    // Do not wait for blocking tasks (a stuck write would hang the exit); the lease file was
    // closed by `run`.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(u8::try_from(code.rem_euclid(256)).unwrap_or(1))
}

fn fail(e: &dyn std::fmt::Display) -> i32 {
    tracing::error!(target: "kea-dhcp4.dhcp4", id = "DHCP4_INIT_FAIL", "failed to initialize Nestor server: {e}");
    eprintln!("{NAME}: {e}");
    1
}
