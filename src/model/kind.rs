//! [`Kind`]: what an item tunes, one variant per knob kind in report order. The serialized
//! names are the report's `kind` values and `HOSTTUNE_FAULT`'s, so they are a format.

use std::fmt;

/// Declares [`Kind`] from `Variant = "report name"` lines, in report order.
macro_rules! kinds {
    ($( $(#[$m:meta])* $var:ident = $name:literal ),* $(,)?) => {
        /// What an item tunes. Serialized names are the report's `kind` values.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum Kind {
            $( $(#[$m])* #[serde(rename = $name)] $var, )*
        }

        impl Kind {
            /// Every kind, in report order.
            pub const ALL: &'static [Kind] = &[ $( Kind::$var, )* ];

            /// The report name (`irq_affinity`).
            pub fn as_str(self) -> &'static str {
                match self { $( Kind::$var => $name, )* }
            }
        }
    };
}

kinds! {
    Sysctl = "sysctl",
    Vip = "vip",
    Arp = "arp",
    /// An L3 DSR decapsulation device (ipip, ip6tnl).
    Tunnel = "tunnel",
    /// A FOU/GUE receive port.
    Fou = "fou",
    /// The effective reverse-path filter of a decapsulation device.
    RpFilter = "rp_filter",
    Ring = "ring",
    Channels = "channels",
    Txqueuelen = "txqueuelen",
    Rps = "rps",
    RxFlowHash = "rx_flow_hash",
    IrqAffinity = "irq_affinity",
    IsolatedCpus = "isolated_cpus",
    Irqbalance = "irqbalance",
    Route = "route",
    Lro = "lro",
    Xps = "xps",
    Features = "features",
    Coalesce = "coalesce",
    Pause = "pause",
    RssIndir = "rss_indir",
    Nft = "nft",
    Conntrack = "conntrack",
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_are_the_serialized_names() {
        for k in Kind::ALL {
            let v = serde_json::to_value(k).unwrap();
            assert_eq!(v, k.as_str(), "{k:?}");
            assert_eq!(k.to_string(), k.as_str());
            assert_eq!(serde_json::from_value::<Kind>(v).unwrap(), *k);
        }
        assert_eq!(Kind::IrqAffinity.as_str(), "irq_affinity");
        assert_eq!(Kind::ALL.first(), Some(&Kind::Sysctl), "report order");
    }
}
