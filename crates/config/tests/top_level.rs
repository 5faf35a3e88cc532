//! Top-level rules: which sections a file may hold, the legacy `Logging` section, the agent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use nestor_config::{
    ErrorKind, Section, WarningKind, detect_sections, parse_agent_str, parse_dhcp4_str,
};

#[test]
fn other_top_level_sections_are_rejected_like_kea() {
    for other in ["Control-agent", "Dhcp6", "DhcpDdns", "Foo"] {
        let text = format!(r#"{{"Dhcp4": {{"subnet4": []}}, "{other}": {{}}}}"#);
        let e = parse_dhcp4_str(&text, "t.json").unwrap_err();
        assert_eq!(e.errors.len(), 1, "{e}");
        assert_eq!(e.errors[0].path, other);
        assert!(e.to_string().contains("expecting Dhcp4"), "{e}");
    }
    let e = parse_dhcp4_str("{}", "t.json").unwrap_err();
    assert!(matches!(
        e.errors[0].kind,
        ErrorKind::MissingSection {
            expected: "Dhcp4",
            ..
        }
    ));
    let e = parse_dhcp4_str("[]", "t.json").unwrap_err();
    assert!(matches!(
        e.errors[0].kind,
        ErrorKind::WrongType {
            expected: "map",
            ..
        }
    ));
}

#[test]
fn legacy_logging_moves_into_loggers_with_one_warning() {
    let text = r#"{"Dhcp4": {"subnet4": []}, "Logging": {"loggers": [{"name": "kea-dhcp4", "severity": "WARN"}]}}"#;
    let l = parse_dhcp4_str(text, "t.json").unwrap();
    assert_eq!(l.config.loggers.len(), 1);
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(
        l.warnings[0].kind,
        WarningKind::DeprecatedLogging { section: "Dhcp4" }
    );
    // Errors inside it name the Logging path.
    let text = r#"{"Dhcp4": {"subnet4": []}, "Logging": {"loggers": [{"name": "kea-dhcp4", "severity": "LOUD"}]}}"#;
    let e = parse_dhcp4_str(text, "t.json").unwrap_err();
    assert_eq!(e.errors[0].path, "Logging.loggers[0].severity");
    // Both forms at once are ambiguous.
    let text = r#"{"Dhcp4": {"loggers": []}, "Logging": {"loggers": []}}"#;
    assert!(parse_dhcp4_str(text, "t.json").is_err());
    let text = r#"{"Dhcp4": {"subnet4": []}, "Logging": {"loggers": [], "extra": 1}}"#;
    let e = parse_dhcp4_str(text, "t.json").unwrap_err();
    assert_eq!(e.errors[0].path, "Logging.extra");
}

#[test]
fn agent_config() {
    let text = r#"{"Control-agent": {
        "http-host": "198.18.0.1", "http-port": 8080,
        "authentication": {"type": "basic", "realm": "r", "clients": [{"user": "admin", "password": "1234"}, {"password-file": "secret"}]},
        "control-sockets": {"dhcp4": {"socket-type": "unix", "socket-name": "/run/kea/kea4-ctrl-socket"}},
        "hooks-libraries": [], "loggers": [{"name": "kea-ctrl-agent", "severity": "INFO"}]},
        "Logging": {"loggers": []}}"#;
    let e = parse_agent_str(text, "ca.json").unwrap_err();
    assert!(e.to_string().contains("both"), "{e}");
    let text = text.replace(
        r#", "loggers": [{"name": "kea-ctrl-agent", "severity": "INFO"}]"#,
        "",
    );
    let l = parse_agent_str(&text, "ca.json").unwrap();
    assert_eq!(
        l.warnings[0].kind,
        WarningKind::DeprecatedLogging {
            section: "Control-agent"
        }
    );
    let c = l.config;
    assert_eq!(
        (c.http_host.to_string(), c.http_port),
        ("198.18.0.1".to_string(), 8080)
    );
    let auth = c.authentication.clone().unwrap();
    assert_eq!(
        (auth.realm.as_str(), auth.clients[0].user.as_deref()),
        ("r", Some("admin"))
    );
    assert_eq!(
        c.socket("dhcp4").unwrap().socket_name,
        "/run/kea/kea4-ctrl-socket"
    );

    let e = parse_agent_str(
        r#"{"Control-agent": {"http-port": 70000, "bogus": 1, "control-sockets": {"dhcp5": {}}}}"#,
        "ca.json",
    )
    .unwrap_err();
    let paths: Vec<&str> = e.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "Control-agent.http-port",
            "Control-agent.control-sockets.dhcp5",
            "Control-agent.bogus"
        ]
    );
    for (client, msg) in [
        (r#"{"password": "x"}"#, "user is required"),
        (
            r#"{"user": "a:b", "password": "x"}"#,
            "must not contain a ':'",
        ),
        (r#"{"user": "a", "user-file": "f"}"#, "mutually exclusive"),
        (
            r#"{"user": "a", "password": "x", "password-file": "f"}"#,
            "mutually exclusive",
        ),
    ] {
        let text = format!(
            r#"{{"Control-agent": {{"authentication": {{"type": "basic", "clients": [{client}]}}}}}}"#
        );
        let e = parse_agent_str(&text, "ca.json").unwrap_err();
        assert_eq!(e.errors[0].path, "Control-agent.authentication.clients[0]");
        assert!(e.to_string().contains(msg), "{client}: {e}");
    }
    let e = parse_agent_str(r#"{"Control-agent": {"cert-file": "c"}}"#, "ca.json").unwrap_err();
    assert!(
        e.to_string()
            .contains("trust-anchor, cert-file and key-file")
    );
    for empty in [
        r#"{"Control-agent": {}}"#,
        r#"{"Control-agent": {"control-sockets": {}}}"#,
    ] {
        let e = parse_agent_str(empty, "ca.json").unwrap_err();
        assert!(matches!(e.errors[0].kind, ErrorKind::Syntax(_)), "{e}");
    }
    let e = parse_agent_str(r#"{"Dhcp4": {}}"#, "ca.json").unwrap_err();
    assert!(e.to_string().contains("expecting Control-agent"), "{e}");
}

#[test]
fn detect_sections_tells_files_apart() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.json");
    std::fs::write(&p, r#"{"Control-agent": {}, "Logging": {}}"#).unwrap();
    assert_eq!(detect_sections(&p).unwrap(), vec![Section::ControlAgent]);
    std::fs::write(&p, r#"{"Dhcp6": {}, "Dhcp4": {}}"#).unwrap();
    assert_eq!(
        detect_sections(&p).unwrap(),
        vec![Section::Dhcp6, Section::Dhcp4]
    );
    std::fs::write(&p, "{ oops").unwrap();
    assert!(detect_sections(&p).is_err());
}

#[test]
fn includes_work_through_the_public_loader() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("subnets.json"),
        r#"{"subnet": "198.18.0.0/24", "pools": [{"pool": "198.18.0.10-198.18.0.20"}]}"#,
    )
    .unwrap();
    let main = dir.path().join("kea-dhcp4.conf");
    std::fs::write(
        &main,
        "{\"Dhcp4\": {\n\"subnet4\": [ <?include \"subnets.json\"?> ]}}",
    )
    .unwrap();
    let c = nestor_config::load_dhcp4_file(&main).unwrap().config;
    assert_eq!(c.subnets[0].pools[0].size(), 11);
    assert!(c.subnets[0].location.file.ends_with("subnets.json"));
}
