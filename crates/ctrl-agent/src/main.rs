//! `nestor-ctrl-agent`: command line and process life cycle, as `kea-ctrl-agent`'s
//! (`-c FILE` run, `-t FILE` check, `-v` version, `-V` extended version, `-W` build report,
//! `-d` debug logging). SIGHUP reloads the configuration file; SIGTERM and SIGINT shut down.

use std::path::PathBuf;
use std::process::ExitCode;

use nestor_ctrl_agent::commands::VERSION;
use nestor_ctrl_agent::pidfile::PidFile;
use nestor_ctrl_agent::{Agent, Limits, Server, Snapshot};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "Usage: nestor-ctrl-agent -[v|V|W] [-d] [-c|-t cfgfile]
   -v: print version number and exit
   -V: print extended version information and exit
   -W: display the configuration report and exit
   -d: optional, verbose output
   -c <config file name> : mandatory, specify name of configuration file
   -t <config file name> : check the configuration file and exit";

enum Mode {
    Run(PathBuf),
    Check(PathBuf),
}

fn usage(error: &str) -> ExitCode {
    eprintln!("{error}\n{USAGE}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut mode = None;
    let mut debug = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-v" => {
                println!("{VERSION}");
                return ExitCode::SUCCESS;
            }
            "-V" => {
                println!(
                    "{VERSION}\nnestor-ctrl-agent (Kea 2.2 Control Agent compatible)\nlinked with:\nrustls (ring provider)"
                );
                return ExitCode::SUCCESS;
            }
            "-W" => {
                println!(
                    "Nestor build report\n  Name: nestor-ctrl-agent\n  Version: {VERSION}\n  OS: {}\n  Architecture: {}\n  TLS: rustls (ring provider)",
                    std::env::consts::OS,
                    std::env::consts::ARCH
                );
                return ExitCode::SUCCESS;
            }
            "-d" => debug = true,
            "-c" | "-t" => {
                let Some(file) = args.next() else {
                    return usage(&format!("option {arg} requires an argument"));
                };
                let file = PathBuf::from(file);
                mode = Some(if arg == "-c" {
                    Mode::Run(file)
                } else {
                    Mode::Check(file)
                });
            }
            other => return usage(&format!("unsupported option: {other}")),
        }
    }
    match mode {
        None => usage("configuration file not specified"),
        Some(Mode::Check(path)) => match Snapshot::from_file(&path) {
            Ok(_) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("Syntax check failed with: {err}");
                ExitCode::from(1)
            }
        },
        Some(Mode::Run(path)) => run(path, debug),
    }
}

fn run(path: PathBuf, debug: bool) -> ExitCode {
    let snapshot = match Snapshot::from_file(&path) {
        Ok(snapshot) => snapshot,
        Err(err) => {
            nestor_ctrl_agent::logging::init(&[], debug);
            tracing::error!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_FILE_LOAD_FAIL Control-agent reason: {err}");
            eprintln!("nestor-ctrl-agent: cannot load {}: {err}", path.display());
            return ExitCode::from(1);
        }
    };
    nestor_ctrl_agent::logging::init(&snapshot.config.loggers, debug);
    tracing::info!(target: "kea-ctrl-agent.dctl", "DCTL_STARTING Control-agent starting, pid: {}, version: {VERSION}", std::process::id());
    let pid_path = PidFile::path_for(&PidFile::default_dir(), &path);
    let _pid_file = match PidFile::create(pid_path) {
        Ok(file) => file,
        Err(err) => {
            tracing::error!(target: "kea-ctrl-agent.dctl", "{err}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(target: "kea-ctrl-agent.dctl", "DCTL_INIT_PROCESS_FAIL cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(serve(snapshot, path));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn serve(snapshot: Snapshot, path: PathBuf) -> i32 {
    let sockets: Vec<String> = snapshot
        .config
        .control_sockets
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    let host = snapshot.config.http_host;
    let port = snapshot.config.http_port;
    let agent = Agent::new(snapshot, Some(path));
    let server = match Server::bind(agent.clone(), Limits::default()).await {
        Ok(server) => server,
        Err(err) => {
            tracing::error!(target: "kea-ctrl-agent.ctrl-agent", "CTRL_AGENT_HTTP_SERVICE_START_FAILED {err}");
            return 1;
        }
    };
    tracing::info!(target: "kea-ctrl-agent.dctl", "DCTL_CONFIG_COMPLETE server has completed configuration: listening on {host}, port {port}, control sockets: {}", sockets.join(" "));
    tracing::info!(target: "kea-ctrl-agent.ctrl-agent", "CTRL_AGENT_STARTED Kea Control Agent version {VERSION} started");
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!(target: "kea-ctrl-agent.dctl", "DCTL_INIT_PROCESS_FAIL cannot install signal handlers");
        return 1;
    };
    let shutdown = agent.shutdown_token();
    let server = tokio::spawn(server.run());
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = term.recv() => { shutdown.cancel(); break; }
            _ = int.recv() => { shutdown.cancel(); break; }
            _ = hup.recv() => {
                tracing::info!(target: "kea-ctrl-agent.dctl", "DCTL_CFG_FILE_RELOAD_SIGNAL_RECVD OS signal SIGHUP received, reloading configuration");
                if let Err(err) = agent.reload() {
                    tracing::error!(target: "kea-ctrl-agent.dctl", "DCTL_CFG_FILE_RELOAD_ERROR configuration reload failed: {err}, reverting to current configuration");
                }
            }
        }
    }
    let _ = server.await;
    tracing::info!(target: "kea-ctrl-agent.dctl", "DCTL_SHUTDOWN Control-agent has shut down, pid: {}, version: {VERSION}", std::process::id());
    agent.exit_code()
}
