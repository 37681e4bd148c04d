//! Ctrl-C (and SIGTERM) as a request to stop at the next safe point, for the
//! long-running commands (`index --semantic`, `index --watch`). A second
//! signal terminates as usual.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // SAFETY: signal() is async-signal-safe; restoring the default makes a
    // second signal terminate immediately.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Installs the handlers; the flag is set once either signal arrives.
pub fn install() -> &'static AtomicBool {
    // SAFETY: installing a handler that only touches an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    &INTERRUPTED
}
