//! Plan-time lints over `[[nic]]` rules that need more than one knob's view: LRO on a host
//! that forwards. The kernel turns LRO off on every device when forwarding is enabled
//! (`dev_disable_lro`, net/core/dev.c) and warns when it finds LRO on a forwarding device,
//! because LRO merges packets in a way that cannot be forwarded unchanged; so a profile that
//! asks for both is refused before any write, unless the rule opts out for its NIC
//! (`allow_lro_with_forwarding = true`). Turning GRO off on a forwarding host gets a note:
//! forwarded UDP is governed by `rx-udp-gro-forwarding` alone, and GRO itself speeds up
//! forwarding of TCP.

use crate::host::paths;
use crate::knobs::cx::PlanCx;
use crate::knobs::features::{is_gro, is_lro};
use crate::knobs::nic::{NicRule, resolve};
use crate::knobs::{Entry, Item, Kind, Status};
use crate::sysctl::SysctlKey;

/// The sysctls that turn forwarding on, in the order they are named in messages.
pub const FORWARDING: [&str; 3] = [
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv6.conf.all.forwarding",
];

/// Which forwarding sysctl reads 1 on the live host, if any.
pub fn live_forwarding(cx: &PlanCx) -> Option<&'static str> {
    FORWARDING.into_iter().find(|k| {
        k.parse::<SysctlKey>()
            .ok()
            .and_then(|key| cx.host.fs.read(&paths::sysctl(&key)).ok())
            .is_some_and(|v| v.trim() == "1")
    })
}

/// Applies the lints to the planned entries of `rules`: `forwarding` names what makes the
/// host forward (a profile key set to 1, or a live one), if anything does.
pub fn forwarding(rules: &[NicRule], forwarding: Option<&str>, cx: &PlanCx, out: &mut [Entry]) {
    let Some(why) = forwarding else {
        return;
    };
    for rule in rules {
        let Some(spec) = &rule.features else {
            continue;
        };
        let lro_on = spec.features.iter().any(|(n, on)| *on && is_lro(n));
        let gro_off = spec.features.iter().any(|(n, on)| !*on && is_gro(n));
        for iface in resolve(rule, cx) {
            let mine =
                |e: &Entry| e.item.kind == Kind::Features && e.iface.as_ref() == Some(&iface);
            for e in out.iter_mut().filter(|e| mine(e)) {
                if lro_on && !spec.allow_lro_with_forwarding {
                    let note = format!(
                        "LRO (large-receive-offload) on {iface} while the host forwards \
                         ({why} = 1): the kernel turns LRO off on forwarding devices and warns, \
                         since merged packets cannot be forwarded as they came; drop it, or set \
                         allow_lro_with_forwarding = true for this NIC"
                    );
                    let desired = e.item.desired.clone();
                    *e = Entry::new(
                        Item::new(Kind::Features, iface.as_str(), desired, "-", Status::Error)
                            .note(note),
                        None,
                        None,
                    );
                    e.iface = Some(iface.clone());
                } else if gro_off && e.item.note.is_none() {
                    e.item.note = Some(format!(
                        "GRO off on {iface} while the host forwards ({why} = 1): to stop only \
                         UDP GRO forwarding, set rx-udp-gro-forwarding = false and keep GRO on"
                    ));
                }
            }
        }
    }
}
