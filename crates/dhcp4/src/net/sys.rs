//! The few system calls `nix` does not wrap safely: an AF_PACKET socket bound to one interface,
//! its classic BPF filter (`SO_ATTACH_FILTER`), and the local time offset for log lines.
//!
//! All of the crate's `unsafe` lives here, each block with the reason it is sound. Everything
//! else reaches these sockets through the returned [`OwnedFd`] and `nix`'s safe `send`/`recv`.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `ETH_P_IP` in network byte order, the protocol an IPv4-only packet socket is opened with.
fn eth_p_ip_be() -> u16 {
    // ETH_P_IP (0x0800) fits u16; libc declares it as c_int.
    u16::try_from(libc::ETH_P_IP).unwrap_or(0x0800).to_be()
}

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BpfInsn {
    pub(crate) code: u16,
    pub(crate) jt: u8,
    pub(crate) jf: u8,
    pub(crate) k: u32,
}

/// Opens a non-blocking `AF_PACKET`/`SOCK_RAW` socket that receives IPv4 frames of interface
/// `ifindex` only, with `filter` attached before the bind so that no unfiltered frame is ever
/// queued on it.
pub(crate) fn open_packet_socket(ifindex: u32, filter: &[BpfInsn]) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let fd: RawFd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(eth_p_ip_be()),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own; OwnedFd closes it on every error path below.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    attach_filter(&fd, filter)?;

    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index too large"))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value that we then fill in.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as libc::c_ushort;
    addr.sll_protocol = eth_p_ip_be();
    addr.sll_ifindex = ifindex;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_ll that outlives the call and `len` is its size.
    let rc = unsafe {
        libc::bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            (&raw const addr).cast::<libc::sockaddr>(),
            len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

fn attach_filter(fd: &OwnedFd, filter: &[BpfInsn]) -> io::Result<()> {
    let mut insns: Vec<libc::sock_filter> = filter
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let prog = libc::sock_fprog {
        len: u16::try_from(insns.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "BPF program too long"))?,
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `insns`, which lives until after the call; the kernel copies
    // the program and keeps no pointer to it.
    let rc = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(fd),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const prog).cast::<libc::c_void>(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Registers `fd` with tokio's reactor for readiness events.
pub(crate) fn register_async(
    fd: OwnedFd,
    interest: tokio::io::Interest,
) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: the descriptor is owned by the `OwnedFd` the AsyncFd takes ownership of, so it
    // stays open and refers to the same socket until the AsyncFd deregisters it on drop; no other
    // code can close it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, interest) }
        .map_err(|e| e.into_parts().1)
}

/// The local time zone's offset from UTC, in seconds, at Unix time `secs` (for Kea's local-time
/// log timestamps). 0 if the C library cannot tell.
pub(crate) fn local_utc_offset(secs: i64) -> i64 {
    let t: libc::time_t = secs;
    // SAFETY: tm is plain old data; localtime_r only writes into it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call; localtime_r is the
    // thread-safe variant.
    let r = unsafe { libc::localtime_r(&raw const t, &raw mut tm) };
    if r.is_null() { 0 } else { tm.tm_gmtoff }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offset_is_within_a_day() {
        assert!(local_utc_offset(0).abs() <= 14 * 3600);
    }
}
