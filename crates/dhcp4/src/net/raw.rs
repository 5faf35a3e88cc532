//! The AF_PACKET socket of `dhcp-socket-type: raw` (Kea's `PktFilterLPF`).
//!
//! Clients without an address broadcast from 0.0.0.0 and cannot be reached by the kernel's IP
//! stack (there is nothing to ARP for), so the server reads and writes whole Ethernet frames. A
//! classic BPF program attached to the socket lets through only IPv4/UDP, unfragmented,
//! destined to the server port: everything else on a busy link never wakes the server.
//! Frames are taken apart with [`nestor_proto::frame::parse_frame`] and replies built with
//! [`nestor_proto::frame::build_frame`].

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use nestor_proto::frame::{FrameSpec, build_frame, parse_frame};
use nix::sys::socket::{LinkAddr, MsgFlags, recvfrom, send};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::sys::{self, BpfInsn};

/// `sll_pkttype` of a frame this host sent (linux/if_packet.h).
const PACKET_OUTGOING: u8 = 4;

// Classic BPF opcodes (linux/filter.h).
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_H_IND: u16 = 0x48;
const LDX_B_MSH: u16 = 0xb1;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// The filter: EtherType IPv4, protocol UDP, fragment offset 0, UDP destination `port`.
pub(crate) fn udp_port_filter(port: u16) -> [BpfInsn; 11] {
    let i = |code, jt, jf, k| BpfInsn { code, jt, jf, k };
    [
        i(LD_H_ABS, 0, 0, 12),           // 0: EtherType
        i(JEQ_K, 0, 8, 0x0800),          // 1: IPv4, else reject (10)
        i(LD_B_ABS, 0, 0, 23),           // 2: IP protocol
        i(JEQ_K, 0, 6, 17),              // 3: UDP, else reject
        i(LD_H_ABS, 0, 0, 20),           // 4: flags + fragment offset
        i(JSET_K, 4, 0, 0x1fff),         // 5: a non-first fragment: reject
        i(LDX_B_MSH, 0, 0, 14),          // 6: X = IP header length
        i(LD_H_IND, 0, 0, 16),           // 7: UDP destination port (14 + X + 2)
        i(JEQ_K, 0, 1, u32::from(port)), // 8: our port, else reject
        i(RET_K, 0, 0, 0x0004_0000),     // 9: accept the whole frame
        i(RET_K, 0, 0, 0),               // 10: reject
    ]
}

/// A received frame's addressing and where its DHCP payload is in the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReceived {
    /// The sender's MAC.
    pub src_mac: [u8; 6],
    /// IP and UDP source.
    pub src: SocketAddrV4,
    /// IP destination (255.255.255.255 for a broadcast).
    pub dst: Ipv4Addr,
    /// The UDP payload's range in the buffer.
    pub payload: std::ops::Range<usize>,
}

/// A packet socket bound to one interface, driven by tokio's reactor.
#[derive(Debug)]
pub struct RawSocket {
    fd: AsyncFd<OwnedFd>,
}

impl RawSocket {
    /// Opens the socket on interface `ifindex` for UDP destination port `port`. Needs
    /// `CAP_NET_RAW`.
    pub fn open(ifindex: u32, port: u16) -> io::Result<Self> {
        let fd = sys::open_packet_socket(ifindex, &udp_port_filter(port))?;
        let _ = nix::sys::socket::setsockopt(
            &fd,
            nix::sys::socket::sockopt::RcvBuf,
            &super::RECV_QUEUE_BYTES,
        );
        Ok(RawSocket {
            fd: sys::register_async(fd, Interest::READABLE)?,
        })
    }

    /// Receives the next frame that parses as IPv4/UDP into `buf`. Frames the kernel filter
    /// let through but that fail the full check (bad IP header checksum, truncated) are skipped
    /// and counted in `skipped`.
    pub async fn recv(&self, buf: &mut [u8], skipped: &mut u64) -> io::Result<RawReceived> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| {
                recvfrom::<LinkAddr>(fd.get_ref().as_raw_fd(), buf).map_err(io::Error::from)
            }) {
                // Frames this host sends (PACKET_OUTGOING) must never come back as queries: the
                // server's replies to relays go to port 67. A socket bound to ETH_P_IP gets no
                // outgoing copies today (only ETH_P_ALL taps do); this keeps it so if the
                // protocol ever changes.
                Ok(Ok((_, Some(from)))) if from.pkttype() == PACKET_OUTGOING => {}
                // The UDP checksum is not verified, as Kea's LPF filter does not: packets the
                // kernel sends over veth or with checksum offload carry only a partial checksum
                // when captured (CHECKSUM_PARTIAL), and rejecting them would drop every renewal
                // and release a client unicasts. The IP header checksum is still checked.
                Ok(Ok((len, _))) => match parse_frame(buf.get(..len).unwrap_or_default(), false) {
                    Ok(frame) => {
                        let start = frame.payload.as_ptr() as usize - buf.as_ptr() as usize;
                        return Ok(RawReceived {
                            src_mac: frame.src_mac,
                            src: SocketAddrV4::new(frame.src_ip, frame.src_port),
                            dst: frame.dst_ip,
                            payload: start..start + frame.payload.len(),
                        });
                    }
                    Err(_) => *skipped += 1,
                },
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Frames `payload` with `spec` into `scratch` and sends it. A packet socket's send does
    /// not block for long (the device queue); a full queue (`EAGAIN`/`ENOBUFS`) is an error
    /// the caller counts, as a UDP send would be.
    pub fn send(&self, spec: &FrameSpec, payload: &[u8], scratch: &mut Vec<u8>) -> io::Result<()> {
        build_frame(spec, payload, scratch)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let sent = send(self.fd.get_ref().as_raw_fd(), scratch, MsgFlags::empty())?;
        if sent != scratch.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short frame send"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the classic BPF program over `frame` (a tiny interpreter for the opcodes used).
    fn run(prog: &[BpfInsn], frame: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let h = |at: usize| u32::from(u16::from_be_bytes([frame[at], frame[at + 1]]));
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_H_ABS => a = h(i.k as usize),
                LD_B_ABS => a = u32::from(frame[i.k as usize]),
                LD_H_IND => a = h(x as usize + i.k as usize),
                LDX_B_MSH => x = u32::from(frame[i.k as usize] & 0xf) * 4,
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JSET_K => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                RET_K => return i.k,
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    fn frame(dst_port: u16) -> Vec<u8> {
        let mut spec = FrameSpec::client_broadcast([2, 0, 0, 0, 0, 1]);
        spec.dst_port = dst_port;
        let mut out = Vec::new();
        build_frame(&spec, &[0u8; 300], &mut out).unwrap();
        out
    }

    #[test]
    fn filter_accepts_server_port_only() {
        let prog = udp_port_filter(67);
        assert_ne!(run(&prog, &frame(67)), 0);
        assert_eq!(run(&prog, &frame(68)), 0);
        let mut arp = frame(67);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(run(&prog, &arp), 0);
        let mut tcp = frame(67);
        tcp[23] = 6;
        assert_eq!(run(&prog, &tcp), 0);
        let mut fragment = frame(67);
        fragment[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
        assert_eq!(run(&prog, &fragment), 0);
    }

    #[tokio::test]
    async fn opens_with_privilege_or_is_refused() {
        // Loopback is index 1 on Linux; without CAP_NET_RAW the kernel says EPERM.
        match RawSocket::open(1, 67) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}"),
        }
    }
}
