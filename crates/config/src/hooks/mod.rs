//! Parameters of Nestor's built-in hook plugins, parsed and validated here so that
//! `nestor-dhcp4 -t` reports them like any other configuration error (Kea's `-t` loads the hook
//! libraries and runs their configuration checks too).

pub mod ha;
