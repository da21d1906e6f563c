//! What a fleet installs around the binary: the Debian package, systemd units, the Ansible
//! module, Kubernetes manifests, the Prometheus textfile, rules and a real node_exporter
//! scrape, and the generated man page and completions. Each module is one former
//! `tests/NAME.rs`; its tests keep their names under `NAME::`
//! (`HOSTTUNE_BLESS=1 cargo test --test fleet cli_docs::`).

#[path = "../common/mod.rs"]
mod common;

mod ansible_module;
mod cli_docs;
mod deb_package;
mod kubernetes_manifest;
mod logging;
mod metrics_size;
mod module_graph;
mod node_exporter_scrape;
mod prometheus_contrib;
mod units;
