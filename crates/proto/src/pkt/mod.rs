//! The received-packet view, its option index, and the message builder.
//!
//! * [`Packet`] is a zero-copy view of a received BOOTP/DHCPv4 message (RFC 2131 section 2):
//!   the fixed header is read in place, and an index of option spans is built once per packet
//!   without touching the heap in the common case. Options are read the way Kea 2.2 reads them
//!   (`Pkt4::unpack`, `LibDHCP::unpackOptions4`, `LibDHCP::fuseOptions4`): every instance of a
//!   code is kept and all instances are fused, adjacent or not (RFC 3396); pad (0) is skipped and
//!   end (255) stops an area; an empty host name (12, length 0) is skipped; a truncated option
//!   stops parsing at the last good offset and is recorded as a [`ParseIssue`], the caller
//!   decides whether to drop. Unlike Kea 2.2, option overload (52, RFC 2132 section 9.3) is
//!   honoured: options are also read from `file`, then `sname`.
//! * Typed accessors (in `typed.rs`) decode the options a server needs (53, 50, 51, 54, 55, 57,
//!   61, 12, 81, 82, 60, 77, 118) and report a wrong-length value as a [`MalformedOption`],
//!   never as a panic or a silently wrong value.
//! * [`MessageBuilder`] is an owned, reusable builder for replies (and for client messages in
//!   tests, benchmarks and load generators). [`MessageBuilder::encode_into`] writes Kea 2.2's
//!   option order (53 first, then ascending code, then 82, then end), splits options longer than
//!   255 bytes (RFC 3396) and fits the message into the client's maximum message size (57),
//!   overloading `file`/`sname` when they are unused.
//! * [`CodeSet`] and [`select_options`] implement the "requested or always sent" filter.

mod builder;
mod select;
mod typed;
mod view;

pub use builder::{BuildError, EncodeError, EncodeLimits, MessageBuilder};
pub use select::{CodeSet, KEA_ALWAYS_SENT, is_answered, select_options};
pub use typed::{
    ClientFqdn, FqdnFlags, FqdnLabels, FqdnName, MalformedOption, MessageType, RelayAgentInfo,
    SubOptions, UserClass, UserClassInstances,
};
pub use view::{Area, Options, Overload, Packet, ParseError, ParseIssue};

/// Length of the fixed BOOTP header, without the magic cookie (Kea's `DHCPV4_PKT_HDR_LEN`).
pub const HEADER_LEN: usize = 236;
/// The DHCP magic cookie (RFC 2131 section 3), 99.130.83.99.
pub const MAGIC_COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
/// Offset of the first option: header plus cookie.
pub const OPTIONS_OFFSET: usize = HEADER_LEN + MAGIC_COOKIE.len();
/// `op` of a message sent by a client (RFC 951).
pub const BOOTREQUEST: u8 = 1;
/// `op` of a message sent by a server (RFC 951).
pub const BOOTREPLY: u8 = 2;
/// The broadcast bit of the `flags` field (RFC 2131 section 2, figure 2).
pub const BROADCAST_FLAG: u16 = 0x8000;
/// Size of the `chaddr` field.
pub const CHADDR_LEN: usize = 16;
/// Size of the `sname` field.
pub const SNAME_LEN: usize = 64;
/// Size of the `file` field.
pub const FILE_LEN: usize = 128;

/// Option codes used by this module (RFC 2132 and later).
pub mod code {
    /// Pad, one octet, no length.
    pub const PAD: u8 = 0;
    /// Subnet mask.
    pub const SUBNET_MASK: u8 = 1;
    /// Routers.
    pub const ROUTERS: u8 = 3;
    /// Domain name servers.
    pub const DOMAIN_NAME_SERVERS: u8 = 6;
    /// Host name.
    pub const HOST_NAME: u8 = 12;
    /// Domain name.
    pub const DOMAIN_NAME: u8 = 15;
    /// Requested IP address.
    pub const REQUESTED_ADDRESS: u8 = 50;
    /// IP address lease time.
    pub const LEASE_TIME: u8 = 51;
    /// Option overload.
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type.
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier.
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list.
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Message (error text in a NAK).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size.
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal (T1) time.
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) time.
    pub const REBINDING_TIME: u8 = 59;
    /// Vendor class identifier.
    pub const VENDOR_CLASS: u8 = 60;
    /// Client identifier.
    pub const CLIENT_ID: u8 = 61;
    /// User class (RFC 3004).
    pub const USER_CLASS: u8 = 77;
    /// Client FQDN (RFC 4702).
    pub const CLIENT_FQDN: u8 = 81;
    /// Relay agent information (RFC 3046).
    pub const RELAY_AGENT_INFO: u8 = 82;
    /// Subnet selection (RFC 3011).
    pub const SUBNET_SELECTION: u8 = 118;
    /// End, one octet, no length.
    pub const END: u8 = 255;

    /// Relay agent information sub-option codes.
    pub mod rai {
        /// Agent circuit id (RFC 3046).
        pub const CIRCUIT_ID: u8 = 1;
        /// Agent remote id (RFC 3046).
        pub const REMOTE_ID: u8 = 2;
        /// Link selection (RFC 3527).
        pub const LINK_SELECTION: u8 = 5;
        /// Subscriber id (RFC 3993).
        pub const SUBSCRIBER_ID: u8 = 6;
        /// Server identifier override (RFC 5107).
        pub const SERVER_ID_OVERRIDE: u8 = 11;
        /// Relay source port (RFC 8357).
        pub const RELAY_PORT: u8 = 19;
    }
}
