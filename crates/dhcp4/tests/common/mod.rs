//! Harness of the `server_*` integration tests: the real `nestor-dhcp4` binary on a free port
//! on loopback with `udp` sockets, its control socket, and a test relay agent.
//!
//! The relay binds 127.0.0.2 on an ephemeral port and adds the RFC 8357 relay-port sub-option
//! (82.19) to what it forwards, so the server answers to that port instead of port 67 (Kea 2.2
//! does the same: checked with kea-dhcp4 2.2 on loopback), and no test needs root.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nestor_proto::pkt::{EncodeLimits, MessageBuilder, MessageType, Packet, code};
use nestor_test_support::{ChildGuard, Signal, free_udp_port, wait_until};
use serde_json::{Value, json};

pub const RELAY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const POOL_FIRST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);

/// A running nestor-dhcp4.
pub struct Nestor {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub child: Option<ChildGuard>,
    pub config_path: PathBuf,
}

/// The test configuration: udp on lo, one relayed subnet 198.18.0.0/24.
pub fn config(dir: &Path) -> Value {
    json!({"Dhcp4": {
        "interfaces-config": {"interfaces": ["lo"], "dhcp-socket-type": "udp"},
        "control-socket": {"socket-type": "unix", "socket-name": dir.join("ctrl.sock")},
        "lease-database": {"type": "memfile", "persist": true, "name": dir.join("leases.csv"), "lfc-interval": 0},
        "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
        "authoritative": true,
        "subnet4": [{
            "id": 1, "subnet": "198.18.0.0/24",
            "relay": {"ip-addresses": ["127.0.0.2"]},
            "pools": [{"pool": "198.18.0.10 - 198.18.0.200"}],
            "option-data": [{"name": "routers", "data": "198.18.0.1"}]
        }],
        "loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 99,
                     "output_options": [{"output": dir.join("nestor.log")}]}]
    }})
}

impl Nestor {
    /// Starts the server with `cfg` (built from the temp dir) and waits for its control socket.
    pub fn start(cfg: impl FnOnce(&Path) -> Value) -> Nestor {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("nestor.json");
        std::fs::write(&config_path, cfg(dir.path()).to_string()).unwrap();
        let mut n = Nestor {
            port: free_udp_port().unwrap(),
            dir,
            child: None,
            config_path,
        };
        n.spawn();
        n
    }

    /// (Re)starts the process on the same directory and port.
    pub fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nestor-dhcp4"));
        cmd.arg("-c")
            .arg(&self.config_path)
            .arg("-p")
            .arg(self.port.to_string())
            .env("KEA_PIDFILE_DIR", self.dir.path())
            .env_remove("NESTOR_PIDFILE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.path().join("stderr.txt")).unwrap(),
            ));
        let child = ChildGuard::spawn(&mut cmd).unwrap();
        self.child = Some(child);
        let sock = self.socket();
        let ready = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
            UnixStream::connect(&sock).is_ok()
        });
        assert!(ready, "server did not start: {}", self.stderr());
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ctrl.sock")
    }

    pub fn lease_file(&self) -> PathBuf {
        self.dir.path().join("leases.csv")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nestor.log")).unwrap_or_default()
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.path().join("nestor.nestor-dhcp4.pid")
    }

    /// Sends one command, returns the answer.
    pub fn command(&self, cmd: Value) -> Value {
        let mut s = UnixStream::connect(self.socket()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(cmd.to_string().as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad answer {out:?}: {e}"))
    }

    pub fn stat(&self, name: &str) -> i64 {
        let a = self.command(json!({"command": "statistic-get", "arguments": {"name": name}}));
        a["arguments"][name][0][0].as_i64().unwrap_or(-1)
    }

    pub fn signal(&mut self, sig: Signal) {
        self.child.as_mut().unwrap().signal(sig).unwrap();
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let status = self
            .child
            .as_mut()
            .unwrap()
            .wait_timeout(timeout)
            .unwrap()?;
        status.code()
    }

    pub fn server_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}

/// A relay agent on 127.0.0.2 forwarding clients' messages to the server.
pub struct Relay {
    pub sock: UdpSocket,
    pub server: SocketAddr,
}

/// A client message as the relay forwards it.
pub struct Msg {
    pub b: MessageBuilder,
}

impl Msg {
    pub fn new(t: MessageType, xid: u32, mac: [u8; 6]) -> Msg {
        Msg {
            b: MessageBuilder::client(t, xid, &mac).unwrap(),
        }
    }

    pub fn opt(mut self, code: u8, v: &[u8]) -> Msg {
        self.b.add_option(code, v).unwrap();
        self
    }

    pub fn requested(self, a: Ipv4Addr) -> Msg {
        self.opt(code::REQUESTED_ADDRESS, &a.octets())
    }

    pub fn server_id(self, a: Ipv4Addr) -> Msg {
        self.opt(code::SERVER_ID, &a.octets())
    }

    pub fn ciaddr(mut self, a: Ipv4Addr) -> Msg {
        self.b.set_ciaddr(a);
        self
    }
}

/// A parsed reply.
#[derive(Debug)]
pub struct Got {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
}

impl Got {
    pub fn pkt(&self) -> Packet<'_> {
        Packet::parse(&self.bytes).unwrap()
    }
    pub fn msg_type(&self) -> MessageType {
        self.pkt().message_type().unwrap().unwrap()
    }
    pub fn yiaddr(&self) -> Ipv4Addr {
        self.pkt().yiaddr()
    }
    pub fn option(&self, code: u8) -> Option<Vec<u8>> {
        self.pkt().option(code).map(|c| c.into_owned())
    }
}

impl Relay {
    pub fn new(server: SocketAddr) -> Relay {
        let sock = UdpSocket::bind((RELAY, 0)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        Relay { sock, server }
    }

    /// Encodes `m` as relayed (giaddr, hops 1, RAI with circuit-id and relay-port) and sends.
    pub fn send(&self, m: Msg) {
        let mut b = m.b;
        b.set_giaddr(RELAY).set_hops(1);
        let port = self.sock.local_addr().unwrap().port().to_be_bytes();
        b.add_option(
            code::RELAY_AGENT_INFO,
            &[1, 3, b'c', b'-', b'1', 19, 2, port[0], port[1]],
        )
        .unwrap();
        let mut out = Vec::new();
        b.encode_into(&mut out, &EncodeLimits::unlimited()).unwrap();
        self.send_raw(&out);
    }

    pub fn send_raw(&self, bytes: &[u8]) {
        self.sock.send_to(bytes, self.server).unwrap();
    }

    /// The next reply, or `None` after the timeout.
    pub fn recv(&self) -> Option<Got> {
        let mut buf = vec![0u8; 4096];
        match self.sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                buf.truncate(n);
                Some(Got { bytes: buf, from })
            }
            Err(_) => None,
        }
    }

    /// Sends and waits for the reply.
    pub fn exchange(&self, m: Msg) -> Option<Got> {
        self.send(m);
        self.recv()
    }

    /// Expects no reply within `wait`.
    pub fn expect_silence(&self, wait: Duration) {
        self.sock.set_read_timeout(Some(wait)).unwrap();
        let got = self.recv();
        self.sock
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        assert!(
            got.is_none(),
            "unexpected reply {:?}",
            got.map(|g| g.msg_type())
        );
    }

    /// DISCOVER -> OFFER -> REQUEST -> ACK for `mac`; the ACKed address.
    pub fn dora(&self, xid: u32, mac: [u8; 6]) -> Ipv4Addr {
        let offer = self
            .exchange(Msg::new(MessageType::Discover, xid, mac))
            .expect("no OFFER");
        assert_eq!(offer.msg_type(), MessageType::Offer);
        let sid = Ipv4Addr::from(
            <[u8; 4]>::try_from(offer.option(code::SERVER_ID).unwrap().as_slice()).unwrap(),
        );
        let ack = self
            .exchange(
                Msg::new(MessageType::Request, xid, mac)
                    .requested(offer.yiaddr())
                    .server_id(sid),
            )
            .expect("no ACK");
        assert_eq!(ack.msg_type(), MessageType::Ack);
        assert_eq!(ack.yiaddr(), offer.yiaddr());
        ack.yiaddr()
    }
}

pub fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x00, b[0], b[1], b[2], b[3]]
}
