//! Logging into the host's log, tagged with the model's name.
//!
//! Off wasm (native unit tests) messages go to stderr, which the test harness shows for
//! failing tests only.

use crate::bindings::wasml::model::log::Level;
#[cfg(target_arch = "wasm32")]
use crate::bindings::wasml::model::log::log;

/// Off wasm the WIT import is a stub that panics; print instead.
#[cfg(not(target_arch = "wasm32"))]
fn log(level: Level, message: &str) {
    eprintln!("[{level:?}] {message}");
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}
