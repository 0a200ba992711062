//! Finding and loading ONNX Runtime's shared library, once per process, at run time.
//!
//! The host is not linked against ONNX Runtime: a host without it serves every model that
//! does not use `wasi:nn`, and the first model that does gets a message saying how to install
//! it. `scripts/install-toolchains` puts the library from the PyPI `onnxruntime` wheel where
//! [`default_path`] looks.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The ONNX Runtime release the host is built and tested against (ort 2.0.0-rc.10's API
/// level); newer 1.x releases load too.
pub const TESTED_VERSION: &str = "1.22.1";

/// What loading the library gave: its path and version, or why it is not there.
pub type Loaded = Result<OnnxRuntime, String>;

/// The loaded ONNX Runtime.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OnnxRuntime {
    /// The shared library loaded.
    pub library: PathBuf,
    /// Its version, as it reports it.
    pub version: String,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

/// Where the host looks when neither `--onnxruntime` nor `WASML_ONNXRUNTIME` is given:
/// `onnxruntime/libonnxruntime.so` (`.dylib` on macOS) in `$WASML_CACHE_DIR`, by default
/// `~/.cache/wasml`, where `scripts/install-toolchains` puts it.
pub fn default_path() -> Option<PathBuf> {
    let cache = match std::env::var_os("WASML_CACHE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(&std::env::var_os("HOME")?).join(".cache/wasml"),
    };
    let file = if cfg!(target_os = "macos") {
        "libonnxruntime.dylib"
    } else {
        "libonnxruntime.so"
    };
    Some(cache.join("onnxruntime").join(file))
}

/// Loads ONNX Runtime from `path` the first time it is called; later calls return that first
/// outcome (a process holds one ONNX Runtime). Blocking: call it off the async workers.
pub fn load(path: Option<&Path>) -> &'static Loaded {
    LOADED.get_or_init(|| {
        let path = path.map(Path::to_path_buf).or_else(default_path);
        let outcome = open(path.as_deref());
        match &outcome {
            Ok(ort) => tracing::info!(
                library = %ort.library.display(), version = %ort.version, "ONNX Runtime loaded"
            ),
            Err(why) => tracing::warn!("wasi:nn is unavailable: {why}"),
        }
        outcome
    })
}

/// The outcome of [`load`] if it was called.
pub fn loaded() -> Option<&'static Loaded> {
    LOADED.get()
}

fn open(path: Option<&Path>) -> Loaded {
    let install = "run scripts/install-toolchains (it installs the library from the PyPI \
                   onnxruntime wheel), or give its path with --onnxruntime or WASML_ONNXRUNTIME";
    let Some(path) = path else {
        return Err(format!("ONNX Runtime was not found: {install}"));
    };
    if !path.is_file() {
        return Err(format!(
            "ONNX Runtime was not found at {}: {install}",
            path.display()
        ));
    }
    // `ort` panics when the library cannot be opened or is too old for its API; the file
    // is the user's to choose, so the panic is caught and reported as a load failure. The
    // default hook would print it as if the host had crashed: silence it meanwhile.
    let library = path.to_path_buf();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        ort::init_from(library.display().to_string())
            .with_name("wasml")
            .commit()
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(ort::info().to_owned())
    });
    std::panic::set_hook(previous_hook);
    match outcome {
        Ok(Ok(info)) => Ok(OnnxRuntime {
            version: version_of(&library, &info),
            library,
        }),
        Ok(Err(why)) => Err(format!(
            "ONNX Runtime at {} did not start: {why}",
            path.display()
        )),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown error".into());
            Err(format!(
                "{} is not a usable ONNX Runtime (1.22 or newer): {why}",
                path.display()
            ))
        }
    }
}

/// The release: from the library's file name once symlinks are followed
/// (`libonnxruntime.so.1.22.1`, as the wheel ships it), else from the build string
/// (`ORT Build Info: git-branch=rel-1.22.1, ...`), else the build string itself.
fn version_of(library: &Path, info: &str) -> String {
    let resolved = library
        .canonicalize()
        .unwrap_or_else(|_| library.to_path_buf());
    let from_name = resolved
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once(".so.").map(|(_, v)| v.to_owned()))
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()));
    from_name
        .or_else(|| {
            info.split([',', ' '])
                .find_map(|part| part.strip_prefix("git-branch=rel-"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| info.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_file_name_or_the_build_string() {
        let nowhere = Path::new("/nonexistent/libonnxruntime.so.1.22.1");
        assert_eq!(
            version_of(nowhere, "ORT Build Info: git-branch=HEAD"),
            "1.22.1"
        );
        let unnamed = Path::new("/nonexistent/libonnxruntime.so");
        assert_eq!(
            version_of(
                unnamed,
                "ORT Build Info: git-branch=rel-1.22.0, build type=Release"
            ),
            "1.22.0"
        );
        assert_eq!(version_of(unnamed, "custom build"), "custom build");
    }

    #[test]
    fn a_missing_library_says_how_to_install_it() {
        let why = open(Some(Path::new("/nonexistent/libonnxruntime.so"))).expect_err("missing");
        assert!(why.contains("scripts/install-toolchains"), "{why}");
        assert!(why.contains("--onnxruntime"), "{why}");
    }
}
