//! Builds the components the integration tests serve, from source, into `OUT_DIR`:
//! every example model (through `scripts/build-models`, as users build them) and the
//! test-only components in `tests/components/`. Exposes the folder as `MODELS_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment a nested cargo must not inherit from the outer build: it would apply host
/// flags to the wasm build, fight over the outer jobserver, or (under `cargo clippy`) lint
/// the guests with the workspace's `-D warnings`.
const OUTER_CARGO_ENV: [&str; 8] = [
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_MAKEFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("tests/ has a parent").to_owned();
    let out = PathBuf::from(env("OUT_DIR"));
    let models = out.join("models");
    let wasm_target = out.join("wasm-target");

    let mut build = Command::new("bash");
    build
        .arg(root.join("scripts/build-models"))
        .arg(&models)
        .env("WASML_MODELS_TARGET_DIR", &wasm_target);
    run(build);

    let components = manifest.join("components");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(components.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&wasm_target);
    run(cargo);
    for component in ["misbehave", "nn_probe", "wrong_world"] {
        let built = wasm_target.join(format!("wasm32-wasip2/release/{component}.wasm"));
        std::fs::copy(&built, out.join(format!("{component}.wasm")))
            .unwrap_or_else(|e| panic!("copy {component}.wasm: {e}"));
    }

    std::fs::write(
        out.join("components.rs"),
        format!(
            "/// Folder with every example model, built from source.\n\
             pub const MODELS_DIR: &str = {:?};\n\
             /// A test component that fails on request.\n\
             pub const MISBEHAVE: &str = {:?};\n\
             /// A test component that runs the wasi:nn calls each task describes.\n\
             pub const NN_PROBE: &str = {:?};\n\
             /// A valid component implementing some other world.\n\
             pub const WRONG_WORLD: &str = {:?};\n\
             /// A compile cache shared by the tests that serve large (Python, JavaScript)\n\
             /// components, so each is compiled once per build of the tests.\n\
             pub const SHARED_COMPILE_CACHE: &str = {:?};\n",
            models.display().to_string(),
            out.join("misbehave.wasm").display().to_string(),
            out.join("nn_probe.wasm").display().to_string(),
            out.join("wrong_world.wasm").display().to_string(),
            out.join("compile-cache").display().to_string(),
        ),
    )
    .expect("write components.rs");

    for watched in [
        root.join("wit"),
        root.join("guest-sdk/src"),
        root.join("guest-sdk/Cargo.toml"),
        root.join("scripts/build-models"),
        root.join("example-models/rust/Cargo.toml"),
        root.join("example-models/python"),
        root.join("example-models/js/lib"),
        root.join("example-models/js/models"),
        root.join("example-models/js/build"),
        root.join("example-models/js/package-lock.json"),
        root.join("example-models/c/sdk"),
        root.join("example-models/c/substring-matching"),
        root.join("example-models/c/label-frequency"),
        root.join("example-models/c/vendor"),
        root.join("example-models/c/build"),
        root.join("example-models/c/toolchain.sh"),
        components.join("Cargo.toml"),
        components.join("misbehave/src"),
        components.join("nn-probe/src"),
        components.join("wrong-world/src"),
        components.join("wrong-world/wit"),
    ] {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    for model in model_dirs(&root.join("example-models/rust")) {
        println!("cargo:rerun-if-changed={}", model.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            model.join("Cargo.toml").display()
        );
    }
}

fn model_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read example-models/rust")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by cargo"))
}

fn run(mut command: Command) {
    for var in OUTER_CARGO_ENV {
        command.env_remove(var);
    }
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed: {status}");
}
