//! Fuzz target: [`Packet::parse`] on arbitrary bytes, then every accessor of the view and every
//! option, fused and instance by instance, and every typed accessor (relay sub-options, FQDN
//! labels, user class instances). Nothing may panic; the option index must be consistent with
//! itself (fused value = its instances joined, code order, bounded by the packet size).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nestor_proto::pkt::{CHADDR_LEN, Packet};

fuzz_target!(|data: &[u8]| {
    let Ok(pkt) = Packet::parse(data) else { return };

    let _ = (
        pkt.op(),
        pkt.htype(),
        pkt.hops(),
        pkt.xid(),
        pkt.secs(),
        pkt.flags(),
        pkt.broadcast(),
    );
    let _ = (
        pkt.ciaddr(),
        pkt.yiaddr(),
        pkt.siaddr(),
        pkt.giaddr(),
        pkt.overload(),
    );
    assert_eq!(pkt.chaddr().len(), usize::from(pkt.hlen()).min(CHADDR_LEN));
    let _ = (
        pkt.chaddr_field(),
        pkt.sname(),
        pkt.file(),
        pkt.server_name(),
        pkt.boot_file_name(),
    );
    let _ = (pkt.issues().count(), pkt.truncated_at());

    let mut last_code = None;
    let mut distinct = 0;
    let mut total = 0;
    for (code, value) in pkt.options() {
        assert!(
            last_code < Some(code),
            "options not in ascending code order"
        );
        last_code = Some(code);
        distinct += 1;
        total += value.len();
        assert!(pkt.has_option(code));
        assert_eq!(pkt.option(code).as_deref(), Some(&value[..]));
        let joined: Vec<u8> = pkt.instances(code).flatten().copied().collect();
        assert_eq!(
            joined,
            &value[..],
            "fused value is not its instances joined"
        );
    }
    assert_eq!(distinct, pkt.option_count());
    assert!(total <= data.len(), "fused options longer than the packet");

    let _ = pkt.message_type();
    let _ = pkt.requested_address();
    let _ = pkt.lease_time();
    let _ = pkt.server_id();
    let _ = pkt.parameter_request_list();
    let _ = pkt.max_message_size();
    let _ = pkt.client_id();
    let _ = pkt.hostname();
    let _ = pkt.vendor_class();
    let _ = pkt.subnet_selection();
    if let Ok(Some(uc)) = pkt.user_class() {
        let _ = (uc.as_bytes(), uc.is_rfc3004(), uc.instances().count());
    }
    if let Ok(Some(fqdn)) = pkt.client_fqdn() {
        let _ = (
            fqdn.flags.s(),
            fqdn.flags.o(),
            fqdn.flags.e(),
            fqdn.flags.n(),
        );
        let _ = (
            fqdn.name.labels().count(),
            fqdn.name.is_fully_qualified(),
            fqdn.name.is_empty(),
        );
        let _ = fqdn.name.to_dotted();
    }
    if let Some(rai) = pkt.relay_agent_info() {
        let _ = (rai.as_bytes(), rai.truncated_at(), rai.iter().count());
        let _ = (
            rai.circuit_id(),
            rai.remote_id(),
            rai.link_selection(),
            rai.subscriber_id(),
        );
        let _ = (
            rai.server_id_override(),
            rai.has_relay_port(),
            rai.relay_port(),
        );
        for sub in 0..=255u8 {
            let _ = rai.sub_option(sub);
        }
    }
});
