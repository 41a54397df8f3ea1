//! Crash points: named moments in the commit protocol where a test may kill the process.
//!
//! With the `crash-points` feature a test program installs a hook with [`set_crash_hook`];
//! the engine calls it at each point, and the hook may stop the process there (the crash test
//! in `tests/` has it wait to be killed with SIGKILL). Without the feature the calls compile
//! to nothing.

/// Calls the installed crash hook, if any, with the point's name.
#[inline]
pub(crate) fn crash_point(name: &'static str) {
    #[cfg(feature = "crash-points")]
    if let Some(hook) = HOOK.get() {
        hook(name);
    }
    #[cfg(not(feature = "crash-points"))]
    let _ = name;
}

#[cfg(feature = "crash-points")]
type Hook = Box<dyn Fn(&'static str) + Send + Sync>;

#[cfg(feature = "crash-points")]
static HOOK: std::sync::OnceLock<Hook> = std::sync::OnceLock::new();

/// Installs the process-wide crash hook. Only the first call has an effect.
#[cfg(feature = "crash-points")]
pub fn set_crash_hook(hook: impl Fn(&'static str) + Send + Sync + 'static) {
    let _ = HOOK.set(Box::new(hook));
}
