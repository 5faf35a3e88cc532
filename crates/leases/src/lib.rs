//! `nestor-leases`: the DHCPv4 lease model and lease stores.
