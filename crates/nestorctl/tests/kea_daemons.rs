//! nestorctl against the real Kea 2.2 daemons (`kea-dhcp4`, `kea-ctrl-agent`), which follow the
//! PID file convention nestor-dhcp4 and nestor-ctrl-agent copy: the binary part of the PID file
//! name comes from the configured binary, so nestorctl supervises either.
//!
//! Each test works in a clean temporary directory (configs, PID and lock files, sockets, lease
//! file, logs) and stops every daemon it started by PID when it ends, also on failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Lab, alive_as, dhcp4_config};
use nestor_test_support::{free_tcp_port, http_post_json, require_tool, unix_command, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

struct Kea {
    dhcp4: PathBuf,
    agent: PathBuf,
}

fn kea() -> Option<Kea> {
    Some(Kea {
        dhcp4: require_tool("kea-dhcp4", "kea-dhcp4-server")?,
        agent: require_tool("kea-ctrl-agent", "kea-ctrl-agent")?,
    })
}

fn agent_config(lab: &Lab, port: u16, generation: u32) -> Value {
    json!({
        "Control-agent": {
            "http-host": "127.0.0.1",
            "http-port": port,
            "control-sockets": {
                "dhcp4": {"socket-type": "unix", "socket-name": lab.path("d4.sock")}
            },
            "user-context": {"generation": generation},
            "loggers": [{
                "name": "kea-ctrl-agent",
                "severity": "INFO",
                "output_options": [{"output": lab.path("agent.log")}]
            }]
        }
    })
}

/// A lab with both Kea daemons configured; `extra` lines are appended to nestorctl.conf.
fn kea_lab(kea: &Kea, extra: &str) -> (Lab, PathBuf, u16) {
    let lab = Lab::new();
    let port = free_tcp_port().unwrap();
    lab.write_json("kea-dhcp4.conf", &dhcp4_config(&lab, 4000));
    lab.write_json("kea-ctrl-agent.conf", &agent_config(&lab, port, 1));
    let conf = lab.write(
        "nestorctl.conf",
        &format!(
            "# keactrl.conf style\n\
             dir={dir}\n\
             dhcp4_srv={d4}\n\
             ctrl_agent_srv={ca}\n\
             kea_dhcp4_config_file=${{dir}}/kea-dhcp4.conf\n\
             kea_ctrl_agent_config_file=\"$dir/kea-ctrl-agent.conf\"\n\
             dhcp4=yes\n\
             ctrl_agent=yes\n\
             kea_verbose=no\n\
             log_dir=$dir\n\
             {extra}\n",
            dir = lab.dir.path().display(),
            d4 = kea.dhcp4.display(),
            ca = kea.agent.display(),
        ),
    );
    (lab, conf, port)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn dhcp4_valid_lifetime(lab: &Lab) -> Option<u64> {
    let answer = unix_command(
        &lab.path("d4.sock"),
        &json!({"command": "config-get"}),
        Duration::from_secs(5),
    )
    .ok()?;
    answer["arguments"]["Dhcp4"]["valid-lifetime"].as_u64()
}

fn agent_generation(port: u16) -> Option<u64> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (_, body) = http_post_json(
        addr,
        "/",
        &json!({"command": "config-get"}),
        Duration::from_secs(5),
    )
    .ok()?;
    let answer = if body.is_array() { &body[0] } else { &body };
    answer["arguments"]["Control-agent"]["user-context"]["generation"].as_u64()
}

#[test]
fn start_status_restart_reload_stop() {
    let Some(kea) = kea() else { return };
    let (lab, conf, port) = kea_lab(&kea, "");
    let c = s(&conf);
    let d4_conf = lab.path("kea-dhcp4.conf");
    let ca_conf = lab.path("kea-ctrl-agent.conf");

    let r = lab.nestorctl(&["status", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .starts_with("DHCPv4 server: inactive\nControl Agent: inactive\n"),
        "{r:?}"
    );

    // start
    let r = lab.nestorctl(&["start", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "INFO/nestorctl: Starting {} -c {}\n",
            kea.dhcp4.display(),
            d4_conf.display()
        )),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!(
            "INFO/nestorctl: Starting {} -c {}\n",
            kea.agent.display(),
            ca_conf.display()
        )),
        "{r:?}"
    );
    let d4_pid = lab.pid("kea-dhcp4", "kea-dhcp4").expect("dhcp4 PID file");
    let ca_pid = lab
        .pid("kea-ctrl-agent", "kea-ctrl-agent")
        .expect("agent PID file");
    assert!(alive_as(d4_pid, "kea-dhcp4") && alive_as(ca_pid, "kea-ctrl-agent"));
    assert!(
        r.stdout
            .contains(&format!("kea-dhcp4 started, PID {d4_pid}.")),
        "{r:?}"
    );
    assert_eq!(dhcp4_valid_lifetime(&lab), Some(4000));
    assert!(wait_until(WAIT, POLL, || agent_generation(port) == Some(1)));
    // Detached: its own process group, not nestorctl's (which has exited anyway).
    let pgrp = std::fs::read_to_string(format!("/proc/{d4_pid}/stat")).unwrap();
    let fields: Vec<&str> = pgrp.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(fields[2], d4_pid.to_string(), "process group of {d4_pid}");

    // status: active, files, and the lease and log files read from the daemons' configs
    let r = lab.nestorctl(&["status", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let expected = format!(
        "DHCPv4 server: active\n\
         Control Agent: active\n\
         Nestor DHCPv4 configuration file: {d4}\n\
         \x20   Lease file: {leases}\n\
         \x20   Log files: {d4log}\n\
         Nestor Control Agent configuration file: {ca}\n\
         \x20   Log files: {calog}\n\
         nestorctl configuration file: {c}\n",
        d4 = d4_conf.display(),
        leases = lab.path("leases4.csv").display(),
        d4log = lab.path("dhcp4.log").display(),
        ca = ca_conf.display(),
        calog = lab.path("agent.log").display(),
    );
    assert_eq!(r.stdout, expected, "{r:?}");

    // start again: the PID files keep a second copy from starting
    let r = lab.nestorctl(&["start", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "INFO/nestorctl: kea-dhcp4 appears to be running, see: PID {d4_pid}, PID file: {}.\n",
            lab.pid_file("kea-dhcp4", "kea-dhcp4").display()
        )),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!(
            "INFO/nestorctl: kea-ctrl-agent appears to be running, see: PID {ca_pid}, PID file: {}.\n",
            lab.pid_file("kea-ctrl-agent", "kea-ctrl-agent").display()
        )),
        "{r:?}"
    );
    assert!(!r.stdout.contains("Starting"), "{r:?}");

    // version: nestorctl's and each daemon's -v
    let r = lab.nestorctl(&["version", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        format!(
            "nestorctl: {}\nkea-dhcp4: 2.2.0\nkea-ctrl-agent: 2.2.0\n",
            env!("CARGO_PKG_VERSION")
        )
    );

    // reload of a file `-t` refuses: no SIGHUP, the running config stays
    let mut bad = dhcp4_config(&lab, 4500);
    bad["Dhcp4"]["subnet4"] = json!([{"subnet": "198.18.0.0/33"}]);
    lab.write_json("kea-dhcp4.conf", &bad);
    let r = lab.nestorctl(&["reload", "-c", c, "-s", "dhcp4"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "ERROR/nestorctl: kea-dhcp4 refused its configuration file {} (exit status: 1); not reloaded.",
            d4_conf.display()
        )),
        "{r:?}"
    );
    assert!(!r.stdout.contains("Reloading"), "{r:?}");
    assert_eq!(dhcp4_valid_lifetime(&lab), Some(4000));

    // reload: new configs are read by the same processes
    lab.write_json("kea-dhcp4.conf", &dhcp4_config(&lab, 5000));
    lab.write_json("kea-ctrl-agent.conf", &agent_config(&lab, port, 2));
    let r = lab.nestorctl(&["reload", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "INFO/nestorctl: Reloading kea-dhcp4...\nINFO/nestorctl: Reloading kea-ctrl-agent...\n"
    );
    assert!(
        wait_until(WAIT, POLL, || dhcp4_valid_lifetime(&lab) == Some(5000)),
        "kea-dhcp4 did not re-read its config"
    );
    assert!(
        wait_until(WAIT, POLL, || agent_generation(port) == Some(2)),
        "kea-ctrl-agent did not re-read its config"
    );
    assert_eq!(lab.pid("kea-dhcp4", "kea-dhcp4"), Some(d4_pid));
    assert_eq!(lab.pid("kea-ctrl-agent", "kea-ctrl-agent"), Some(ca_pid));
    assert!(alive_as(d4_pid, "kea-dhcp4") && alive_as(ca_pid, "kea-ctrl-agent"));

    // stop: SIGTERM, waits until both are gone
    let r = lab.nestorctl(&["stop", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "INFO/nestorctl: Stopping kea-dhcp4...\nINFO/nestorctl: Stopping kea-ctrl-agent...\n"
    );
    assert!(!alive_as(d4_pid, "kea-dhcp4"));
    assert!(!alive_as(ca_pid, "kea-ctrl-agent"));

    let r = lab.nestorctl(&["status", "-c", c]);
    assert!(
        r.stdout
            .starts_with("DHCPv4 server: inactive\nControl Agent: inactive\n"),
        "{r:?}"
    );
    let r = lab.nestorctl(&["stop", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "INFO/nestorctl: kea-dhcp4 isn't running.\nINFO/nestorctl: kea-ctrl-agent isn't running.\n"
    );
    // Their stdout/stderr went to log_dir.
    assert!(lab.path("kea-dhcp4.out").exists());
}

#[test]
fn config_refused_by_check_is_not_started() {
    let Some(kea) = kea() else { return };
    let (lab, conf, _) = kea_lab(&kea, "");
    let mut bad = dhcp4_config(&lab, 4000);
    bad["Dhcp4"]["valid-lifetime"] = json!("forever");
    lab.write_json("kea-dhcp4.conf", &bad);

    let r = lab.nestorctl(&["start", "-c", s(&conf), "-s", "dhcp4"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "ERROR/nestorctl: kea-dhcp4 refused its configuration file {} (exit status: 1); not starting.",
            lab.path("kea-dhcp4.conf").display()
        )),
        "{r:?}"
    );
    // Kea's own words follow, indented.
    assert!(
        r.stderr.contains(&format!(
            "\n    Syntax check failed with: {}:",
            lab.path("kea-dhcp4.conf").display()
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("expecting integer"), "{r:?}");
    assert!(!r.stdout.contains("Starting"), "{r:?}");
    assert_eq!(lab.pid("kea-dhcp4", "kea-dhcp4"), None);

    // status shows the error where the lease and log files would be, and the state.
    let r = lab.nestorctl(&["status", "-c", s(&conf)]);
    assert!(r.stdout.contains("DHCPv4 server: inactive\n"), "{r:?}");
    assert!(r.stdout.contains("    Configuration error:\n"), "{r:?}");
}

#[test]
fn daemon_dying_at_startup_is_reported_with_its_exit_status() {
    let Some(kea) = kea() else { return };
    let (lab, conf, _) = kea_lab(&kea, "");
    // Accepted by `-t` (which does not open the control socket), fatal at run time.
    let mut cfg = dhcp4_config(&lab, 4000);
    cfg["Dhcp4"]["control-socket"]["socket-name"] = json!("/nonexistent-nestorctl-dir/d4.sock");
    lab.write_json("kea-dhcp4.conf", &cfg);

    let r = lab.nestorctl(&["start", "-c", s(&conf), "-s", "dhcp4"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "ERROR/nestorctl: kea-dhcp4 exited during start-up (exit status: 1), see {}.",
            lab.path("kea-dhcp4.out").display()
        )),
        "{r:?}"
    );
}

#[test]
fn stale_pid_files_do_not_count_as_running() {
    let Some(kea) = kea() else { return };
    let (lab, conf, _) = kea_lab(&kea, "ctrl_agent=no");
    let c = s(&conf);
    let pid_file = lab.pid_file("kea-dhcp4", "kea-dhcp4");

    // A dead PID (a reaped child of ours).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(&pid_file, format!("{dead}\n")).unwrap();
    let r = lab.nestorctl(&["status", "-c", c]);
    assert!(r.stdout.starts_with("DHCPv4 server: inactive\n"), "{r:?}");
    let r = lab.nestorctl(&["stop", "-c", c, "-s", "dhcp4"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout
            .starts_with("INFO/nestorctl: kea-dhcp4 isn't running (stale PID file"),
        "{r:?}"
    );

    // A live PID of another program (this test binary): keactrl would call kea-dhcp4 running,
    // and Kea itself would refuse to start over it.
    let me = std::process::id();
    std::fs::write(&pid_file, format!("{me}\n")).unwrap();
    let r = lab.nestorctl(&["status", "-c", c]);
    assert!(r.stdout.starts_with("DHCPv4 server: inactive\n"), "{r:?}");
    let r = lab.nestorctl(&["start", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "INFO/nestorctl: removing stale PID file {} (PID {me} is another program",
            pid_file.display()
        )),
        "{r:?}"
    );
    let pid = lab.pid("kea-dhcp4", "kea-dhcp4").unwrap();
    assert_ne!(pid, i32::try_from(me).unwrap());
    assert!(alive_as(pid, "kea-dhcp4"));
    let r = lab.nestorctl(&["stop", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!alive_as(pid, "kea-dhcp4"));
}

#[test]
fn selection_and_enabled_flags() {
    let Some(kea) = kea() else { return };
    let (lab, conf, port) = kea_lab(&kea, "ctrl_agent=No\ndhcp6=yes");
    let c = s(&conf);

    // Without -s: enabled daemons only; dhcp6=yes gets a warning, not an error.
    let r = lab.nestorctl(&["start", "-c", c]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stderr,
        "WARNING/nestorctl: dhcp6 is not supported by Nestor (it has no such daemon), skipped.\n"
    );
    assert!(lab.pid("kea-dhcp4", "kea-dhcp4").is_some(), "{r:?}");
    assert_eq!(lab.pid("kea-ctrl-agent", "kea-ctrl-agent"), None, "{r:?}");

    // -s ctrl_agent: selected but disabled in the conf, so start does nothing (as keactrl).
    let r = lab.nestorctl(&["start", "-c", c, "-s", "ctrl_agent"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""), "{r:?}");

    // Enable it from the command line's conf and start just it.
    let conf2 = lab.write(
        "nestorctl2.conf",
        &std::fs::read_to_string(&conf)
            .unwrap()
            .replace("ctrl_agent=No", "ctrl_agent=YES"),
    );
    let r = lab.nestorctl(&[
        "start",
        "--ctrl-config",
        s(&conf2),
        "--server",
        "ctrl_agent",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!r.stdout.contains("kea-dhcp4"), "{r:?}");
    let ca_pid = lab.pid("kea-ctrl-agent", "kea-ctrl-agent").unwrap();
    assert!(wait_until(WAIT, POLL, || agent_generation(port) == Some(1)));

    // stop -s dhcp4 leaves the agent; stop ignores the enabled flag.
    let d4_pid = lab.pid("kea-dhcp4", "kea-dhcp4").unwrap();
    let r = lab.nestorctl(&["stop", "-c", c, "-s", "dhcp4,dhcp_ddns"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "INFO/nestorctl: Stopping kea-dhcp4...\n");
    assert_eq!(
        r.stderr,
        "WARNING/nestorctl: dhcp_ddns is not supported by Nestor (it has no such daemon), skipped.\n"
    );
    assert!(!alive_as(d4_pid, "kea-dhcp4"));
    assert!(alive_as(ca_pid, "kea-ctrl-agent"));
    let r = lab.nestorctl(&["status", "-c", c]);
    assert!(
        r.stdout
            .starts_with("DHCPv4 server: inactive\nControl Agent: active\n"),
        "{r:?}"
    );
    let r = lab.nestorctl(&["stop", "-c", c, "-s", "ctrl_agent"]);
    assert_eq!(r.stdout, "INFO/nestorctl: Stopping kea-ctrl-agent...\n");
    assert!(!alive_as(ca_pid, "kea-ctrl-agent"));

    // A name keactrl does not know is a usage error.
    let r = lab.nestorctl(&["start", "-c", c, "-s", "dhcp5"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .starts_with("ERROR/nestorctl: invalid server name: dhcp5\nusage is nestorctl"),
        "{r:?}"
    );
}

#[test]
fn verbose_passes_d() {
    let Some(kea) = kea() else { return };
    let (lab, conf, _) = kea_lab(&kea, "kea_verbose=yes\nctrl_agent=no");
    let r = lab.nestorctl(&["start", "-c", s(&conf)]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "Starting {} -c {} -d\n",
            kea.dhcp4.display(),
            lab.path("kea-dhcp4.conf").display()
        )),
        "{r:?}"
    );
    let pid = lab.pid("kea-dhcp4", "kea-dhcp4").unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline.split(|b| *b == 0).any(|a| a == b"-d"));
    let r = lab.nestorctl(&["stop", "-c", s(&conf)]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn missing_conf_file_is_an_error() {
    let lab = Lab::new();
    let missing = lab.path("nope.conf");
    let r = lab.nestorctl(&["start", "-c", s(&missing)]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "ERROR/nestorctl: Configuration file for nestorctl does not exist or cannot be read: {}:",
            missing.display()
        )),
        "{r:?}"
    );
    // $NESTORCTL_CONF is the default location when -c is absent.
    let r = lab.nestorctl_with(&["status"], |cmd| {
        cmd.env("NESTORCTL_CONF", &missing);
    });
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains(s(&missing)), "{r:?}");
    // A daemon config file that does not exist stops start and status with an error.
    let conf = lab.write(
        "nestorctl.conf",
        &format!(
            "kea_dhcp4_config_file={}\nctrl_agent=no\n",
            lab.path("absent.json").display()
        ),
    );
    let r = lab.nestorctl(&["start", "-c", s(&conf)]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("does not exist: "), "{r:?}");
    let r = lab.nestorctl(&["status", "-c", s(&conf)]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "ERROR/nestorctl: Configuration file for Nestor does not exist: {}.",
            lab.path("absent.json").display()
        )),
        "{r:?}"
    );
}

#[test]
fn invalid_conf_reports_every_error() {
    let lab = Lab::new();
    let conf = lab.write("nestorctl.conf", "dhcp4=maybe\nx = 1\ny=$(id)\n");
    let r = lab.nestorctl(&["status", "-c", s(&conf)]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let c = conf.display();
    assert_eq!(
        r.stderr,
        format!(
            "ERROR/nestorctl: {c}:1: dhcp4=\"maybe\": expected yes or no\n\
             {c}:2: no spaces are allowed around '=' (shell syntax): \"x = 1\"\n\
             {c}:3: unsupported shell syntax \"$(\" (only $name and ${{name}} expansions are read)\n"
        )
    );
}
