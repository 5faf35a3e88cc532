//! Differential test against the real `kea-dhcp4` 2.2: the same configuration and the same
//! relayed client exchanges give the same addresses, the same options (codes and
//! values) and the same lease-file rows (expiry times aside) from both servers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use common::{Got, Msg, Nestor, Relay, config, mac};
use nestor_proto::pkt::MessageType;
use nestor_test_support::{KeaDhcp4, free_udp_port, require_tool, wait_until};

/// What must agree between the two servers in a reply: type, yiaddr, giaddr, options.
type Shape = (MessageType, Ipv4Addr, Ipv4Addr, Vec<(u8, Vec<u8>)>);

fn shape(g: &Got) -> Shape {
    let p = g.pkt();
    // Option 82 is echoed with each relay's own port in its relay-port sub-option: compare it
    // without those two bytes.
    let opts = p
        .options()
        .map(|(code, v)| {
            let mut v = v.into_owned();
            if code == nestor_proto::pkt::code::RELAY_AGENT_INFO {
                v.truncate(v.len().saturating_sub(2));
            }
            (code, v)
        })
        .collect();
    (g.msg_type(), p.yiaddr(), p.giaddr(), opts)
}

/// The exchanges: three DORAs, a renewal, a release, a DISCOVER after the release.
fn scenario(r: &Relay) -> Vec<Shape> {
    let mut out = Vec::new();
    let mut addrs = Vec::new();
    for c in 1..=3u32 {
        let offer = r
            .exchange(Msg::new(MessageType::Discover, c, mac(c)))
            .expect("OFFER");
        out.push(shape(&offer));
        let ack = r
            .exchange(
                Msg::new(MessageType::Request, c, mac(c))
                    .requested(offer.yiaddr())
                    .server_id(Ipv4Addr::LOCALHOST),
            )
            .expect("ACK");
        out.push(shape(&ack));
        addrs.push(ack.yiaddr());
    }
    let renew = r
        .exchange(Msg::new(MessageType::Request, 10, mac(2)).ciaddr(addrs[1]))
        .expect("renew");
    out.push(shape(&renew));
    r.send(
        Msg::new(MessageType::Release, 11, mac(1))
            .ciaddr(addrs[0])
            .server_id(Ipv4Addr::LOCALHOST),
    );
    std::thread::sleep(Duration::from_millis(200));
    let again = r
        .exchange(Msg::new(MessageType::Discover, 12, mac(4)))
        .expect("OFFER");
    out.push(shape(&again));
    out
}

/// Lease rows without the expiry column (index 4), which depends on the clock.
fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut cols: Vec<String> = l.split(',').map(str::to_owned).collect();
            if cols.len() > 4 {
                cols.remove(4);
            }
            cols
        })
        .collect()
}

#[test]
fn nestor_and_kea_agree_on_a_relayed_exchange() {
    if require_tool("kea-dhcp4", "kea-dhcp4-server").is_none() {
        return;
    }
    let mut kea_cfg = config(Path::new("/unused"));
    let d = kea_cfg["Dhcp4"].as_object_mut().unwrap();
    d.remove("control-socket");
    d.remove("lease-database");
    d.remove("loggers");
    let kea_port = free_udp_port().unwrap();
    let kea = KeaDhcp4::builder(kea_cfg)
        .server_port(kea_port)
        .start()
        .unwrap();
    let kea_relay = Relay::new(std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, kea_port)));
    let from_kea = scenario(&kea_relay);

    let nestor = Nestor::start(config);
    let nestor_relay = Relay::new(nestor.server_addr());
    let from_nestor = scenario(&nestor_relay);
    for (i, (k, n)) in from_kea.iter().zip(&from_nestor).enumerate() {
        assert_eq!(k, n, "reply {i} differs (left: Kea, right: Nestor)");
    }
    assert_eq!(from_kea.len(), from_nestor.len());

    let kea_file = kea.lease_file().unwrap().to_owned();
    let nestor_file = nestor.lease_file();
    let want = rows(&kea_file).len();
    assert!(wait_until(
        Duration::from_secs(3),
        Duration::from_millis(50),
        || rows(&nestor_file).len() >= want
    ));
    assert_eq!(
        rows(&kea_file),
        rows(&nestor_file),
        "lease files (left: Kea, right: Nestor)"
    );
}
