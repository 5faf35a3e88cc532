//! DHCPv4 option definitions and `option-data` encoding.
