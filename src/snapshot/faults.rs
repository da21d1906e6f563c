//! The store's side of the fault seam ([`crate::fault`]): the wrapper it was built with, if
//! any, sees each recording write and wraps each transaction's setting I/O.

use std::sync::Arc;

use super::{Store, StoreError};
use crate::fault::{Faults, Stage, When};
use crate::knobs::setting_io::SettingIo;
use crate::signals::Guard;

impl Store {
    /// The same store with `faults` around its writes and its transactions' setting I/O.
    pub fn with_faults(mut self, faults: Arc<dyn Faults>) -> Self {
        self.faults = Some(faults);
        self
    }

    /// The setting I/O a transaction on this store uses: `io` wrapped when a wrapper was
    /// chosen, `None` otherwise (use `io` as it is).
    pub fn wrap_io<'a>(
        &'a self,
        io: &'a dyn SettingIo,
        signals: Option<&'a Guard>,
    ) -> Option<Box<dyn SettingIo + 'a>> {
        self.faults.as_ref().map(|f| f.wrap(io, signals))
    }

    /// Lets the wrapper, if any, see a recording write.
    pub(super) fn tap(&self, stage: Stage, when: When) -> Result<(), StoreError> {
        match &self.faults {
            Some(f) => f.store(stage, when).map_err(|source| StoreError::Io {
                path: self.dir.join(stage.file()),
                source,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;

    use super::*;
    use crate::host::Host;
    use crate::knobs::{KnobError, Setting};

    /// Records what it sees and fails the first history write after it is written.
    #[derive(Debug, Default)]
    struct Spy(Mutex<Vec<(Stage, When)>>);

    impl Faults for Spy {
        fn wrap<'a>(
            &'a self,
            io: &'a dyn SettingIo,
            _: Option<&'a Guard>,
        ) -> Box<dyn SettingIo + 'a> {
            struct Pass<'a>(&'a dyn SettingIo);
            impl SettingIo for Pass<'_> {
                fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
                    self.0.write(host, s)
                }
                fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
                    self.0.read(host, at)
                }
            }
            Box::new(Pass(io))
        }
        fn store(&self, stage: Stage, when: When) -> io::Result<()> {
            self.0.lock().unwrap().push((stage, when));
            if (stage, when) == (Stage::History, When::After) {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            Ok(())
        }
    }

    #[test]
    fn the_wrapper_sees_each_recording_write_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spy = Arc::new(Spy::default());
        let store = Store::new(dir.path()).with_faults(spy.clone());
        assert!(
            store
                .wrap_io(&crate::knobs::setting_io::Knobs, None)
                .is_some()
        );
        store.save_kept(&Default::default()).unwrap();
        let err = store.push_history("a1", None).unwrap_err();
        assert!(err.to_string().contains("/history: "), "{err}");
        assert_eq!(store.history().unwrap(), ["a1"], "written, then failed");
        store.end().unwrap();
        assert_eq!(
            *spy.0.lock().unwrap(),
            [
                (Stage::Kept, When::Before),
                (Stage::History, When::Before),
                (Stage::History, When::After),
                (Stage::End, When::Before),
            ]
        );
        let plain = Store::new(dir.path());
        assert!(
            plain
                .wrap_io(&crate::knobs::setting_io::Knobs, None)
                .is_none()
        );
        assert!(plain.tap(Stage::End, When::Before).is_ok());
    }
}
