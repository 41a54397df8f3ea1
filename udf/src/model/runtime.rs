//! The ONNX Runtime library, found and loaded at run time.
//!
//! reeldb does not link ONNX Runtime: `ort` is built with `load-dynamic`, so a machine without
//! the library still runs everything but ONNX models, and the library can be upgraded without
//! rebuilding reeldb. The library is looked for, in order:
//!
//! 1. `ORT_DYLIB_PATH`, the variable `ort` itself documents (a file path);
//! 2. the system library path (`libonnxruntime.so`, found by the dynamic loader through
//!    `LD_LIBRARY_PATH` and `ld.so.conf`);
//! 3. a pip-installed `onnxruntime` package: the `site-packages` of the `python3` on `PATH`
//!    (and of the usual user and virtualenv locations), where the wheel keeps
//!    `onnxruntime/capi/libonnxruntime.so.<version>`.
//!
//! ONNX Runtime allows one environment per process, so the result of the first search, good or
//! bad, is kept for the life of the process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use datafusion::common::{DataFusionError, Result};
use ort::environment::Environment;

/// The ONNX Runtime version the `ort` crate is built against; older libraries are refused.
pub const ONNX_RUNTIME_VERSION: &str = "1.31";

/// How to install the library, for error messages.
pub const INSTALL_HINT: &str = "install it with `pip install onnxruntime==1.31.1` \
     (reeldb finds it in Python's site-packages), or set ORT_DYLIB_PATH to the path of \
     libonnxruntime.so (version 1.31 or newer)";

/// The loaded runtime: the process's one environment and where the library came from.
pub struct Runtime {
    /// The ONNX Runtime environment every session is created in.
    pub environment: Environment,
    /// The library file that was loaded.
    pub library: PathBuf,
}

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The ONNX Runtime, loaded on first use; an error says what was tried and how to install it.
pub fn runtime() -> Result<&'static Runtime> {
    RUNTIME
        .get_or_init(load)
        .as_ref()
        .map_err(|message| DataFusionError::Execution(message.clone()))
}

fn load() -> std::result::Result<Runtime, String> {
    let mut tried = Vec::new();
    for candidate in candidates() {
        match ort::init_from(&candidate) {
            Ok(builder) => {
                let environment = builder
                    .with_name("reeldb")
                    .with_telemetry(false)
                    .build()
                    .map_err(|e| {
                        format!(
                            "ONNX Runtime from '{}' loaded but did not start: {e}",
                            candidate.display()
                        )
                    })?;
                return Ok(Runtime {
                    environment,
                    library: candidate,
                });
            }
            Err(e) => tried.push(format!("{}: {e}", candidate.display())),
        }
    }
    Err(format!(
        "ONNX models need the ONNX Runtime library, which was not found; {INSTALL_HINT}. Tried: {}",
        if tried.is_empty() {
            "nothing (no candidate path)".to_string()
        } else {
            tried.join("; ")
        }
    ))
}

/// The library paths to try, best first. `ORT_DYLIB_PATH`, when set, is the only candidate:
/// a user who names a library means that one.
fn candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let mut found = Vec::new();
    // The dynamic loader's own search (a bare name is not resolved against the working
    // directory): only worth trying when a file of that name exists on a searched path.
    if system_library_present() {
        found.push(PathBuf::from("libonnxruntime.so"));
    }
    for site in site_packages() {
        found.extend(wheel_libraries(&site));
    }
    found
}

fn system_library_present() -> bool {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    dirs.extend(
        [
            "/usr/lib",
            "/usr/local/lib",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
        ]
        .map(PathBuf::from),
    );
    dirs.iter()
        .any(|dir| dir.join("libonnxruntime.so").exists())
}

/// Candidate `site-packages` directories: those of the `python3` on `PATH` (asked directly,
/// which covers virtualenvs, pyenv and user installs), then the usual fixed places.
fn site_packages() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let script = "import site, sys; print('\\n'.join(site.getsitepackages() + [site.getusersitepackages()]))";
    for python in ["python3", "python"] {
        if let Ok(output) = Command::new(python).args(["-c", script]).output()
            && output.status.success()
        {
            dirs.extend(
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(PathBuf::from),
            );
            break;
        }
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        dirs.extend(python_lib_dirs(&PathBuf::from(venv).join("lib")));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.extend(python_lib_dirs(&PathBuf::from(home).join(".local/lib")));
    }
    dirs.extend(python_lib_dirs(Path::new("/usr/local/lib")));
    dirs.extend(python_lib_dirs(Path::new("/usr/lib")));
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// `<lib>/python3.*/{site,dist}-packages`.
fn python_lib_dirs(lib: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(lib) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("python3") {
            dirs.push(entry.path().join("site-packages"));
            dirs.push(entry.path().join("dist-packages"));
        }
    }
    dirs.sort();
    dirs
}

/// The ONNX Runtime libraries an `onnxruntime` wheel installed under `site`, newest first.
fn wheel_libraries(site: &Path) -> Vec<PathBuf> {
    let capi = site.join("onnxruntime").join("capi");
    let Ok(entries) = std::fs::read_dir(&capi) else {
        return Vec::new();
    };
    let mut libraries: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so") || n == "libonnxruntime.dylib")
        })
        .collect();
    libraries.sort();
    libraries.reverse();
    libraries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_libraries_are_found_under_capi() {
        let dir = tempfile::tempdir().unwrap();
        let capi = dir.path().join("onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"").unwrap();
        std::fs::write(capi.join("onnxruntime_pybind11_state.so"), b"").unwrap();
        assert_eq!(
            wheel_libraries(dir.path()),
            vec![capi.join("libonnxruntime.so.1.31.1")]
        );
        assert!(wheel_libraries(&dir.path().join("absent")).is_empty());
    }
}
