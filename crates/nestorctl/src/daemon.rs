//! The daemons nestorctl supervises and the server names of keactrl's `-s` option.
//!
//! keactrl 2.2 knows `dhcp4`, `dhcp6`, `dhcp_ddns`, `ctrl_agent` and `netconf`. Nestor has a
//! DHCPv4 server and a Control Agent; the other names are accepted (so a keactrl command line
//! or keactrl.conf works unchanged) and answered with a warning that Nestor has no such daemon.

use std::fmt;

/// A daemon Nestor ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Daemon {
    /// `nestor-dhcp4` (`kea-dhcp4`).
    Dhcp4,
    /// `nestor-ctrl-agent` (`kea-ctrl-agent`).
    CtrlAgent,
}

/// keactrl's daemons that Nestor does not have, by their keactrl names.
pub const UNSUPPORTED: &[&str] = &["dhcp6", "dhcp_ddns", "netconf"];

impl Daemon {
    /// In keactrl's order (the order of `status` and of `start`).
    pub const ALL: [Daemon; 2] = [Daemon::Dhcp4, Daemon::CtrlAgent];

    /// The keactrl server name (`-s`, the enable variable).
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Dhcp4 => "dhcp4",
            Daemon::CtrlAgent => "ctrl_agent",
        }
    }

    /// The label of keactrl's `status` lines.
    pub fn title(self) -> &'static str {
        match self {
            Daemon::Dhcp4 => "DHCPv4 server",
            Daemon::CtrlAgent => "Control Agent",
        }
    }

    /// The label of the configuration file line of `status`.
    pub fn config_title(self) -> &'static str {
        match self {
            Daemon::Dhcp4 => "Nestor DHCPv4 configuration file",
            Daemon::CtrlAgent => "Nestor Control Agent configuration file",
        }
    }

    pub fn default_binary(self) -> &'static str {
        match self {
            Daemon::Dhcp4 => "nestor-dhcp4",
            Daemon::CtrlAgent => "nestor-ctrl-agent",
        }
    }

    pub(crate) fn binary_var(self) -> &'static str {
        match self {
            Daemon::Dhcp4 => "dhcp4_srv",
            Daemon::CtrlAgent => "ctrl_agent_srv",
        }
    }

    /// keactrl's variable first, then Nestor's alias.
    pub(crate) fn config_vars(self) -> [&'static str; 2] {
        match self {
            Daemon::Dhcp4 => ["kea_dhcp4_config_file", "nestor_dhcp4_config_file"],
            Daemon::CtrlAgent => [
                "kea_ctrl_agent_config_file",
                "nestor_ctrl_agent_config_file",
            ],
        }
    }

    pub(crate) fn default_config(self) -> &'static str {
        match self {
            Daemon::Dhcp4 => crate::conf::DEFAULT_DHCP4_CONFIG,
            Daemon::CtrlAgent => crate::conf::DEFAULT_CTRL_AGENT_CONFIG,
        }
    }
}

impl fmt::Display for Daemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `-s` selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Nestor daemons, in [`Daemon::ALL`] order, without duplicates.
    pub daemons: Vec<Daemon>,
    /// keactrl names Nestor has no daemon for, named explicitly.
    pub unsupported: Vec<&'static str>,
    /// No `-s`, or `-s all`: the enabled-in-conf keactrl daemons count as asked for.
    pub all: bool,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            daemons: Daemon::ALL.to_vec(),
            unsupported: Vec::new(),
            all: true,
        }
    }
}

impl Selection {
    /// Parses `-s dhcp4,ctrl_agent` (keactrl's comma-separated list; `all` means every one).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut daemons = Vec::new();
        let mut unsupported = Vec::new();
        let mut all = false;
        for name in list.split(',').map(str::trim) {
            if name == "all" {
                all = true;
            } else if let Some(d) = Daemon::ALL.iter().find(|d| d.name() == name) {
                daemons.push(*d);
            } else if let Some(u) = UNSUPPORTED.iter().find(|u| **u == name) {
                unsupported.push(*u);
            } else {
                return Err(format!("invalid server name: {name}"));
            }
        }
        if all {
            return Ok(Self::default());
        }
        daemons.sort();
        daemons.dedup();
        unsupported.dedup();
        Ok(Self {
            daemons,
            unsupported,
            all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_lists() {
        assert_eq!(Selection::parse("all").unwrap(), Selection::default());
        let s = Selection::parse("ctrl_agent,dhcp4,ctrl_agent").unwrap();
        assert_eq!(s.daemons, vec![Daemon::Dhcp4, Daemon::CtrlAgent]);
        assert!(!s.all);
        let s = Selection::parse("dhcp6,dhcp4").unwrap();
        assert_eq!(s.daemons, vec![Daemon::Dhcp4]);
        assert_eq!(s.unsupported, vec!["dhcp6"]);
        assert_eq!(
            Selection::parse("dhcp4,dhcp5").unwrap_err(),
            "invalid server name: dhcp5"
        );
        assert!(Selection::parse("").is_err());
    }
}
