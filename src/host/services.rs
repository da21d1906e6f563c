//! The service-manager seam (irqbalance). The real implementation runs `systemctl` with an
//! argument vector, never a shell.

/// Whether a unit runs now and starts at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceState {
    pub active: bool,
    pub enabled: bool,
}

/// A failed service operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// No usable service manager (systemd is not PID 1): items are `unsupported`.
    #[error("service manager: {0}")]
    Unsupported(String),
    #[error("systemctl {action} {unit}: {detail}")]
    Failed {
        action: &'static str,
        unit: String,
        detail: String,
    },
}

/// Start, stop, enable and disable units.
pub trait Services {
    /// The unit's state, or `None` when the unit is not installed.
    fn state(&self, unit: &str) -> Result<Option<ServiceState>, ServiceError>;
    /// Equivalent to `systemctl start UNIT` / `systemctl stop UNIT`.
    fn set_active(&self, unit: &str, active: bool) -> Result<(), ServiceError>;
    /// Equivalent to `systemctl enable UNIT` / `systemctl disable UNIT`.
    fn set_enabled(&self, unit: &str, enabled: bool) -> Result<(), ServiceError>;
    /// Equivalent to `systemctl restart UNIT`.
    fn restart(&self, unit: &str) -> Result<(), ServiceError>;
}
