//! Built-in profiles, compiled in from the repository's `profiles/` directory.

/// `(name, TOML text)` of every built-in profile.
pub const BUILTIN: &[(&str, &str)] = &[
    ("tcp-base", include_str!("../../profiles/tcp-base.toml")),
    ("tcp-server", include_str!("../../profiles/tcp-server.toml")),
    ("client", include_str!("../../profiles/client.toml")),
    ("web", include_str!("../../profiles/web.toml")),
    ("lb", include_str!("../../profiles/lb.toml")),
];
