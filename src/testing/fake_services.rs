//! An in-memory [`Services`]: units with their running and boot state, a log of every call,
//! a one-shot injected failure, and a mode that behaves like a host without systemd. Errors
//! name the same systemctl verbs as the real [`crate::host::systemd::Systemctl`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::host::services::{ServiceError, ServiceState, Services};

/// The kind of a service call, to aim an injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceOp {
    State,
    SetActive,
    SetEnabled,
    Restart,
}

/// One call made on a [`FakeServices`], in order, failed ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceCall {
    State(String),
    SetActive(String, bool),
    SetEnabled(String, bool),
    Restart(String),
}

#[derive(Debug, Default)]
struct State {
    units: BTreeMap<String, ServiceState>,
    calls: Vec<ServiceCall>,
    fail_next: Option<(ServiceOp, String)>,
    unsupported: Option<String>,
}

/// Units and their states, in memory.
#[derive(Debug, Default)]
pub struct FakeServices {
    state: Mutex<State>,
}

impl FakeServices {
    /// No units installed.
    pub fn new() -> Self {
        Self::default()
    }

    /// A host where every call is `Unsupported` for `reason`, as without systemd as PID 1.
    pub fn unsupported(reason: &str) -> Self {
        let fake = Self::new();
        fake.lock().unsupported = Some(reason.to_string());
        fake
    }

    /// Installs `unit` in the given state.
    pub fn unit(self, unit: &str, active: bool, enabled: bool) -> Self {
        self.lock()
            .units
            .insert(unit.to_string(), ServiceState { active, enabled });
        self
    }

    /// The next call of kind `op` fails once with `detail`, as systemctl would.
    pub fn fail_next(&self, op: ServiceOp, detail: &str) {
        self.lock().fail_next = Some((op, detail.to_string()));
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<ServiceCall> {
        self.lock().calls.clone()
    }

    /// The unit's state now, without logging a call.
    pub fn get(&self, unit: &str) -> Option<ServiceState> {
        self.lock().units.get(unit).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A test that panicked while holding the lock has already failed; its state is
        // still worth reading.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs the call, then applies `change` to the unit unless the call must fail.
    fn mutate(
        &self,
        call: ServiceCall,
        op: ServiceOp,
        action: &'static str,
        unit: &str,
        change: impl FnOnce(&mut ServiceState),
    ) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state.begin(call, op, action, unit)?;
        match state.units.get_mut(unit) {
            Some(s) => {
                change(s);
                Ok(())
            }
            // systemctl refuses to start, stop, enable or disable a unit it cannot find.
            None => Err(failed(action, unit, format!("unit {unit} not found"))),
        }
    }
}

fn failed(action: &'static str, unit: &str, detail: String) -> ServiceError {
    ServiceError::Failed {
        action,
        unit: unit.to_string(),
        detail,
    }
}

impl State {
    /// Logs the call; then the unsupported mode or an injected failure may end it.
    fn begin(
        &mut self,
        call: ServiceCall,
        op: ServiceOp,
        action: &'static str,
        unit: &str,
    ) -> Result<(), ServiceError> {
        self.calls.push(call);
        if let Some(reason) = &self.unsupported {
            return Err(ServiceError::Unsupported(reason.clone()));
        }
        match self.fail_next.take() {
            Some((target, detail)) if target == op => Err(failed(action, unit, detail)),
            other => {
                self.fail_next = other;
                Ok(())
            }
        }
    }
}

impl Services for FakeServices {
    fn state(&self, unit: &str) -> Result<Option<ServiceState>, ServiceError> {
        let mut state = self.lock();
        state.begin(
            ServiceCall::State(unit.into()),
            ServiceOp::State,
            "is-enabled",
            unit,
        )?;
        Ok(state.units.get(unit).copied())
    }

    fn set_active(&self, unit: &str, active: bool) -> Result<(), ServiceError> {
        let call = ServiceCall::SetActive(unit.into(), active);
        let action = if active { "start" } else { "stop" };
        self.mutate(call, ServiceOp::SetActive, action, unit, |s| {
            s.active = active
        })
    }

    fn set_enabled(&self, unit: &str, enabled: bool) -> Result<(), ServiceError> {
        let call = ServiceCall::SetEnabled(unit.into(), enabled);
        let action = if enabled { "enable" } else { "disable" };
        self.mutate(call, ServiceOp::SetEnabled, action, unit, |s| {
            s.enabled = enabled
        })
    }

    fn restart(&self, unit: &str) -> Result<(), ServiceError> {
        let call = ServiceCall::Restart(unit.into());
        self.mutate(call, ServiceOp::Restart, "restart", unit, |s| {
            s.active = true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IRQB: &str = "irqbalance.service";

    #[test]
    fn changes_show_in_the_state_and_the_log() {
        let fake = FakeServices::new().unit(IRQB, true, true);
        fake.set_active(IRQB, false).unwrap();
        fake.set_enabled(IRQB, false).unwrap();
        assert_eq!(
            fake.state(IRQB),
            Ok(Some(ServiceState {
                active: false,
                enabled: false
            }))
        );
        fake.restart(IRQB).unwrap();
        assert_eq!(
            fake.get(IRQB),
            Some(ServiceState {
                active: true,
                enabled: false
            })
        );
        let want = [
            ServiceCall::SetActive(IRQB.into(), false),
            ServiceCall::SetEnabled(IRQB.into(), false),
            ServiceCall::State(IRQB.into()),
            ServiceCall::Restart(IRQB.into()),
        ];
        assert_eq!(fake.calls(), want);
    }

    #[test]
    fn a_missing_unit_has_no_state_and_cannot_be_changed() {
        let fake = FakeServices::new();
        assert_eq!(fake.state(IRQB), Ok(None));
        let err = fake.set_active(IRQB, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "systemctl stop irqbalance.service: unit irqbalance.service not found"
        );
    }

    #[test]
    fn an_injected_failure_fires_once_on_its_kind_only() {
        let fake = FakeServices::new().unit(IRQB, true, true);
        fake.fail_next(ServiceOp::SetEnabled, "Access denied");
        fake.set_active(IRQB, false).unwrap();
        let err = fake.set_enabled(IRQB, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "systemctl disable irqbalance.service: Access denied"
        );
        assert_eq!(
            fake.get(IRQB),
            Some(ServiceState {
                active: false,
                enabled: true
            })
        );
        fake.set_enabled(IRQB, false).unwrap();
        assert_eq!(
            fake.get(IRQB),
            Some(ServiceState {
                active: false,
                enabled: false
            })
        );
    }

    #[test]
    fn the_unsupported_mode_refuses_everything_and_still_logs() {
        let fake = FakeServices::unsupported("systemd is not the init system");
        let want = Err(ServiceError::Unsupported(
            "systemd is not the init system".into(),
        ));
        assert_eq!(fake.state(IRQB), want.clone().map(|()| None));
        assert_eq!(fake.set_active(IRQB, false), want.clone());
        assert_eq!(fake.restart(IRQB), want);
        assert_eq!(fake.calls().len(), 3);
    }
}
