//! Free loopback ports for servers under test.
//!
//! The port is found by binding port 0 on 127.0.0.1 and releasing it, so another process can in
//! principle take it before the server under test binds it; on a test machine that race is rare
//! and shows as a clear "address in use" start failure, never as a silent cross-talk.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_bindable_and_nonzero() {
        let udp = free_udp_port().unwrap();
        let tcp = free_tcp_port().unwrap();
        assert_ne!(udp, 0);
        assert_ne!(tcp, 0);
        UdpSocket::bind((Ipv4Addr::LOCALHOST, udp)).unwrap();
        TcpListener::bind((Ipv4Addr::LOCALHOST, tcp)).unwrap();
    }
}
