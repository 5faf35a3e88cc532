//! Ethernet II / IPv4 / UDP framing for AF_PACKET raw sockets.
