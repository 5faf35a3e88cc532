//! Memory and load time of a large memfile: N leases written in Kea 2.2's CSV format (11
//! columns, reference section 5.1), loaded at start by each server; measured are the time from
//! `exec` until the control socket answers `status-get` with every lease counted in
//! `subnet[1].assigned-addresses`, and the server's `VmRSS` then.
//!
//! A million addresses do not fit in 198.18.0.0/15, so this subnet is 10.0.0.0/8; the servers
//! listen on no interface (`interfaces: []`) inside a namespace of their own: no packet is sent.

use std::io::{BufWriter, Write as _};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use nestor_test_support::{Netns, wait_until};
use serde_json::{Value, json};

use super::lab::{Binaries, RunningServer, ServerKind};

/// Lease lifetime in the file: long enough that nothing expires during the measurement.
const VALID_LIFETIME: u64 = 30 * 86_400;
/// How long a server may take to load before the run is abandoned.
const LOAD_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone)]
pub(crate) struct LoadResult {
    pub kind: ServerKind,
    pub leases: u64,
    pub ready: Duration,
    pub rss_kib: u64,
}

/// Writes `count` leases of subnet 1 (10.0.0.0/8, from 10.0.0.1 up) to `path`, each with a
/// distinct hardware address and a client identifier, as Kea 2.2 writes them.
pub(crate) fn write_lease_file(path: &Path, count: u32) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| path.display().to_string())?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    writeln!(
        out,
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context"
    )?;
    for i in 1..=count {
        let addr = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + i);
        let [a, b, c, d] = i.to_be_bytes();
        // Expiry spread over an hour, as leases renewed at random times would be.
        let expire = now + VALID_LIFETIME - u64::from(i % 3600);
        writeln!(
            out,
            "{addr},02:00:{a:02x}:{b:02x}:{c:02x}:{d:02x},01:02:00:{a:02x}:{b:02x}:{c:02x}:{d:02x},\
             {VALID_LIFETIME},{expire},1,0,0,,0,"
        )?;
    }
    out.flush()?;
    Ok(())
}

fn config(dir: &Path) -> Value {
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": [], "dhcp-socket-type": "udp"},
        "control-socket": {"socket-type": "unix", "socket-name": dir.join("ctrl.sock")},
        "lease-database": {
            "type": "memfile", "persist": true, "name": dir.join("leases4.csv"), "lfc-interval": 0
        },
        "valid-lifetime": VALID_LIFETIME,
        "subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "pools": [{"pool": "10.0.0.1 - 10.255.255.254"}]}],
        "loggers": [{
            "name": "kea-dhcp4", "severity": "WARN",
            "output_options": [{"output": dir.join("server.log")}]
        }]
    }})
}

/// Starts `kind` on a copy of `lease_file` (holding `count` leases) and measures it.
pub(crate) fn measure(
    kind: ServerKind,
    binaries: &Binaries,
    lease_file: &Path,
    count: u32,
    cpu: usize,
) -> Result<LoadResult> {
    let ns = Netns::new("bench-mem")?;
    let server = RunningServer::start(
        &ns,
        kind,
        binaries,
        cpu,
        config,
        |dir| {
            std::fs::copy(lease_file, dir.join("leases4.csv"))
                .context("copying the lease file")
                .map(drop)
        },
        LOAD_TIMEOUT,
    )?;
    // status-get answered; a server that opened its control socket before loading must also
    // have counted every lease before it counts as ready.
    let assigned = |server: &RunningServer| -> Option<u64> {
        let answer = server
            .command(&json!({"command": "statistic-get",
                             "arguments": {"name": "subnet[1].assigned-addresses"}}))
            .ok()?;
        answer["arguments"]["subnet[1].assigned-addresses"][0][0].as_u64()
    };
    let mut leases = 0;
    let counted = wait_until(LOAD_TIMEOUT, Duration::from_millis(20), || {
        leases = assigned(&server).unwrap_or(0);
        leases >= u64::from(count)
    });
    let ready = server.startup_elapsed();
    if !counted {
        bail!(
            "{}: subnet[1].assigned-addresses is {leases}, expected {count}:\n{}",
            kind.label(),
            server.log_tail()
        );
    }
    let rss_kib = server.rss_kib()?;
    Ok(LoadResult {
        kind,
        leases,
        ready,
        rss_kib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_rows_in_kea_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.csv");
        write_lease_file(&path, 300).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 301);
        assert!(lines[0].starts_with("address,hwaddr,client_id,valid_lifetime,expire,"));
        let row: Vec<&str> = lines[300].split(',').collect();
        assert_eq!(row.len(), 11);
        assert_eq!(row[0], "10.0.1.44");
        assert_eq!(row[1], "02:00:00:00:01:2c");
        assert_eq!(row[2], "01:02:00:00:00:01:2c");
        assert_eq!(row[5], "1");
    }
}
