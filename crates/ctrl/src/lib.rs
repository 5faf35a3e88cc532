//! `nestor-ctrl`: the control channel shared by nestor-dhcp4, its plugins and nestor-ctrl-agent.
