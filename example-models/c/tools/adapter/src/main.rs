//! `wasml-c-adapter <path>`: writes the WASI preview1 reactor adapter to `<path>`.
//!
//! The file is written next to `<path>` and renamed into place, so a build never sees a
//! half-written adapter.

use std::path::PathBuf;
use std::{env, fs, process};

use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;

fn main() {
    let Some(path) = env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: wasml-c-adapter <output.wasm>");
        process::exit(2);
    };
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let written = fs::write(&tmp, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .and_then(|()| fs::rename(&tmp, &path));
    if let Err(err) = written {
        eprintln!("wasml-c-adapter: cannot write {}: {err}", path.display());
        process::exit(1);
    }
}
