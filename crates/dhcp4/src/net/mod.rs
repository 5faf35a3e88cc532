//! DHCP service sockets as `interfaces-config` asks for them (Kea ARM "Interface
//! Configuration", reference 4.3):
//!
//! * `udp`: one UDP socket per selected interface address, bound to `addr:port` with
//!   `SO_REUSEADDR` and `SO_BROADCAST`. It sees relayed and unicast traffic only; loopback is
//!   allowed (Kea accepts `lo` only with udp).
//! * `raw`: one `AF_PACKET` socket per selected interface ([`raw`]) that receives every IPv4/UDP
//!   frame for the server port (clients without an address broadcast from 0.0.0.0) and sends
//!   replies framed with [`nestor_proto::frame`] to the client's MAC; beside it a UDP socket on
//!   each address, which answers relays and clients that have an address through the kernel's
//!   routing, as Kea's LPF filter does with its fallback socket.
//!
//! Receive errors are sorted into recoverable ones (logged, counted, the loop goes on) and
//! fatal ones ([`is_fatal`]); see `server.rs` for the loops.

pub mod iface;
pub mod raw;
pub(crate) mod sys;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use nestor_config::dhcp4::{InterfacesConfig, SocketType};
use nix::sys::socket::{self as nsock, AddressFamily, SockFlag, SockType, SockaddrIn, sockopt};
use tokio::net::UdpSocket;

pub use iface::{IfaceError, Interface, Selected};
pub use raw::RawSocket;

/// The standard DHCPv4 ports (RFC 2131 section 4.1).
pub const SERVER_PORT: u16 = 67;
/// The client port.
pub const CLIENT_PORT: u16 = 68;

/// Receive buffer asked for on service sockets (bursts of thousands of packets).
pub(crate) const RECV_QUEUE_BYTES: usize = 4 << 20;

/// What one service socket is attached to: the interface and the address replies come from.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Interface name.
    pub iface: Arc<str>,
    /// All IPv4 addresses of the interface (server identifier candidates).
    pub iface_addrs: Arc<[Ipv4Addr]>,
    /// The interface's MAC (raw frames' source).
    pub mac: [u8; 6],
    /// The address this socket serves (the server identifier for broadcast receptions).
    pub local_addr: Ipv4Addr,
}

/// One opened service socket.
#[derive(Debug)]
pub enum ServiceSocket {
    /// Plain UDP bound to `endpoint.local_addr`.
    Udp {
        /// Where it is bound.
        endpoint: Endpoint,
        /// The socket.
        socket: Arc<UdpSocket>,
    },
    /// AF_PACKET on one interface, with a UDP socket for routed replies.
    Raw {
        /// The interface and its first address.
        endpoint: Endpoint,
        /// The packet socket.
        packet: Arc<RawSocket>,
        /// The UDP socket on the first address (send only).
        udp: Arc<UdpSocket>,
    },
}

impl ServiceSocket {
    /// Where it is attached.
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            ServiceSocket::Udp { endpoint, .. } | ServiceSocket::Raw { endpoint, .. } => endpoint,
        }
    }

    /// The socket routed replies go out of.
    pub fn udp(&self) -> &Arc<UdpSocket> {
        match self {
            ServiceSocket::Udp { socket, .. } => socket,
            ServiceSocket::Raw { udp, .. } => udp,
        }
    }

    /// A short description for logs (`udp lo/127.0.0.1:67`).
    pub fn describe(&self, port: u16) -> String {
        match self {
            ServiceSocket::Udp { endpoint, .. } => {
                format!("udp {}/{}:{port}", endpoint.iface, endpoint.local_addr)
            }
            ServiceSocket::Raw { endpoint, .. } => {
                format!("raw {} ({}:{port})", endpoint.iface, endpoint.local_addr)
            }
        }
    }
}

/// Why sockets could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Interface discovery or selection failed.
    #[error(transparent)]
    Iface(#[from] IfaceError),
    /// Raw sockets cannot be opened on loopback (Kea: "raw sockets not supported on lo").
    #[error("interface '{0}' is a loopback interface: use \"dhcp-socket-type\": \"udp\"")]
    LoopbackRaw(String),
    /// A socket could not be opened or bound.
    #[error("failed to open socket on interface {iface}, address {addr}, port {port}: {source}")]
    Open {
        /// Interface.
        iface: String,
        /// Address.
        addr: Ipv4Addr,
        /// Port.
        port: u16,
        /// Cause.
        source: io::Error,
    },
}

/// Opens a non-blocking UDP socket bound to `addr:port` with `SO_REUSEADDR` and `SO_BROADCAST`.
pub fn open_udp(addr: Ipv4Addr, port: u16) -> io::Result<UdpSocket> {
    let fd: OwnedFd = nsock::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    nsock::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    nsock::setsockopt(&fd, sockopt::Broadcast, &true)?;
    // A larger receive queue absorbs bursts; the kernel caps it at net.core.rmem_max.
    let _ = nsock::setsockopt(&fd, sockopt::RcvBuf, &RECV_QUEUE_BYTES);
    nsock::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(SocketAddrV4::new(addr, port)),
    )?;
    UdpSocket::from_std(std::net::UdpSocket::from(fd))
}

/// Opens every service socket `config` asks for on port `port`. A socket that cannot be
/// opened is an error only with `service-sockets-require-all`; otherwise it is reported in the
/// returned warnings and the server runs with the others (Kea's `DHCPSRV_OPEN_SOCKET_FAIL`).
/// The interfaces whose sockets failed are returned with their errors, for retries
/// (`service-sockets-max-retries`).
pub fn open_all(config: &InterfacesConfig, port: u16) -> Result<Opened, SocketError> {
    let available = iface::discover()?;
    let selected = iface::select(&config.interfaces, &available)?;
    let mut opened = Opened::default();
    for sel in selected {
        match open_on(&sel, config.socket_type, port) {
            Ok(mut s) => opened.sockets.append(&mut s),
            Err(e) if config.service_sockets_require_all => return Err(e),
            Err(e) => opened.failed.push((sel, e)),
        }
    }
    Ok(opened)
}

/// What [`open_all`] opened, and what it could not.
#[derive(Debug, Default)]
pub struct Opened {
    /// The open sockets.
    pub sockets: Vec<ServiceSocket>,
    /// Interfaces whose sockets failed, with the reason.
    pub failed: Vec<(Selected, SocketError)>,
}

/// Opens the sockets of one selected interface (`kind`, port `port`).
pub fn open_on(
    sel: &Selected,
    kind: SocketType,
    port: u16,
) -> Result<Vec<ServiceSocket>, SocketError> {
    let iface_addrs: Arc<[Ipv4Addr]> = Arc::from(sel.iface.addrs.as_slice());
    let endpoint = |local_addr| Endpoint {
        iface: sel.iface.name.clone(),
        iface_addrs: iface_addrs.clone(),
        mac: sel.iface.mac,
        local_addr,
    };
    let open_err = |addr, source| SocketError::Open {
        iface: sel.iface.name.to_string(),
        addr,
        port,
        source,
    };
    match kind {
        SocketType::Udp => sel
            .addrs
            .iter()
            .map(|&addr| {
                let socket = open_udp(addr, port).map_err(|e| open_err(addr, e))?;
                Ok(ServiceSocket::Udp {
                    endpoint: endpoint(addr),
                    socket: Arc::new(socket),
                })
            })
            .collect(),
        SocketType::Raw => {
            if sel.iface.loopback {
                return Err(SocketError::LoopbackRaw(sel.iface.name.to_string()));
            }
            // Kea needs an address on the interface to answer from (server identifier).
            let Some(&first) = sel.addrs.first() else {
                return Err(open_err(
                    Ipv4Addr::UNSPECIFIED,
                    io::Error::new(
                        io::ErrorKind::AddrNotAvailable,
                        "interface has no IPv4 address",
                    ),
                ));
            };
            let packet = RawSocket::open(sel.iface.index, port).map_err(|e| open_err(first, e))?;
            let udp = open_udp(first, port).map_err(|e| open_err(first, e))?;
            Ok(vec![ServiceSocket::Raw {
                endpoint: endpoint(first),
                packet: Arc::new(packet),
                udp: Arc::new(udp),
            }])
        }
    }
}

/// Whether a socket error ends the receive loop. Everything a remote peer can cause
/// (ICMP-reported `ECONNREFUSED`, `EHOSTUNREACH`, truncation, `ENOBUFS` under load, `EINTR`) is
/// recoverable; a closed or invalid descriptor is not.
pub fn is_fatal(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(
            libc::EBADF | libc::ENOTSOCK | libc::EINVAL | libc::EFAULT | libc::ENODEV | libc::ENXIO
        )
    )
}

/// The IPv4 form of a socket address (service sockets are IPv4 only).
pub fn v4(addr: SocketAddr) -> Option<SocketAddrV4> {
    match addr {
        SocketAddr::V4(a) => Some(a),
        SocketAddr::V6(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn udp_socket_binds_reuseaddr_and_broadcast() {
        let a = open_udp(Ipv4Addr::LOCALHOST, 0).unwrap();
        let port = a.local_addr().unwrap().port();
        // SO_REUSEADDR does not allow a second UDP bind of the same port without
        // SO_REUSEPORT, but SO_BROADCAST must be on for sends to 255.255.255.255.
        let fd = std::os::fd::AsFd::as_fd(&a);
        assert!(nsock::getsockopt(&fd, sockopt::Broadcast).unwrap());
        assert!(nsock::getsockopt(&fd, sockopt::ReuseAddr).unwrap());
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        b.send_to(b"x", ("127.0.0.1", port)).await.unwrap();
        let mut buf = [0u8; 4];
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"x");
    }

    #[test]
    fn fatal_errors_are_descriptor_errors() {
        assert!(is_fatal(&io::Error::from_raw_os_error(libc::EBADF)));
        assert!(!is_fatal(&io::Error::from_raw_os_error(libc::ECONNREFUSED)));
        assert!(!is_fatal(&io::Error::from_raw_os_error(libc::ENOBUFS)));
    }
}
