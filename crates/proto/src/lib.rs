//! `nestor-proto`: the DHCPv4 wire codec shared by every Nestor daemon.
//!
//! What is here, by protocol concept:
//!
//! * [`pkt`]: a zero-copy view of a received BOOTP/DHCPv4 message (RFC 2131 section 2) with an
//!   option index built once per packet. Options with one code are fused wherever they stand
//!   (RFC 3396, as Kea does); option overload (52) pulls options out of `file`/`sname`
//!   (RFC 2132 section 9.3); relay agent information (82) is split into sub-options (RFC 3046);
//!   client FQDN (81) per RFC 4702; client identifier per RFC 6842. An owned reply builder encodes
//!   the answer in Kea's option order, splits long options and fits the client's maximum message
//!   size, using overload when needed.
//! * [`option`]: Kea 2.2's standard DHCPv4 option definitions (the 113-entry table of
//!   `std_option_defs.h`) and custom `option-def`s, and the encoding of a configured
//!   `option-data` entry into wire bytes for every Kea data type.
//! * [`frame`]: Ethernet II / IPv4 / UDP framing with checksums, for AF_PACKET raw sockets that
//!   talk to clients which have no address yet.
//!
//! No I/O and no async runtime: this crate turns bytes into values and values into bytes.
//!
//! Panic policy: nothing in this crate panics on input read from the wire or from a configuration
//! file. Every length read off the wire is clamped or checked before use (`clippy::indexing_slicing`
//! is denied here), and malformed input is reported as an error value that the caller may act on
//! (Kea's rule: a truncated option stops parsing at the last good offset and the caller decides
//! whether to drop the packet).
#![deny(clippy::indexing_slicing)]

pub mod frame;
pub mod option;
pub mod pkt;
