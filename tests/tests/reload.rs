//! Hot reload: models appear, change and disappear with their files while the host serves,
//! without a failed request; broken files never replace a working model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, WRONG_WORLD, component_variant, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const CONFIG: &str = r#"<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="A"/></Choices></View>"#;

fn start(builder: HostBuilder) -> Host {
    let host = builder.start();
    host.wait_ready();
    host
}

/// Polls until `check` holds for the model's entry (or its absence).
fn wait_for(
    host: &Host,
    name: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = host.model_entry(name);
        if check(current.as_ref()) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: never {what}: {current:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `bytes` to `dest` the way deploy scripts do: a temporary file renamed into place.
fn rename_into_place(dest: &Path, bytes: &[u8]) {
    let tmp = dest.with_extension("wasm.part");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, dest).expect("rename");
}

fn predict(host: &Host, model: &str) -> wasml_tests::Reply {
    host.post_json(
        &format!("/models/{model}/predict"),
        &json!({"tasks": [{"data": {"text": "x"}}], "label_config": CONFIG}),
    )
}

fn model_path(host: &Host, name: &str) -> PathBuf {
    host.models_dir.path().join(format!("{name}.wasm"))
}

#[test]
fn a_new_file_becomes_a_model_and_a_removed_one_is_unloaded() {
    let host = start(HostBuilder::new(BIN).example("dummy"));
    assert!(host.model_entry("ner").is_none());
    rename_into_place(
        &model_path(&host, "ner"),
        &std::fs::read(example_model("substring-matching")).expect("read"),
    );
    wait_for(&host, "ner", "ready", |e| {
        e.is_some_and(|e| e["state"] == "ready")
    });
    assert_eq!(host.get("/models/ner/health").status, 200);
    assert_eq!(predict(&host, "ner").status, 200);

    std::fs::remove_file(model_path(&host, "ner")).expect("remove");
    wait_for(&host, "ner", "unloaded", |e| e.is_none());
    let gone = host.get("/models/ner/health");
    assert_eq!(gone.status, 404, "{}", gone.raw);
    assert_eq!(gone.body["error"], "unknown model");

    // And back again.
    std::fs::copy(
        example_model("substring-matching"),
        model_path(&host, "ner"),
    )
    .expect("copy");
    wait_for(&host, "ner", "ready again", |e| {
        e.is_some_and(|e| e["state"] == "ready")
    });
    assert_eq!(predict(&host, "ner").status, 200);
    assert_eq!(
        predict(&host, "dummy").status,
        200,
        "other models never noticed"
    );
}

#[test]
fn fifty_swaps_under_continuous_load_drop_nothing() {
    let host = start(HostBuilder::new(BIN).example("dummy"));
    let path = model_path(&host, "dummy");
    let first = host.model_entry("dummy").expect("dummy");
    let mut versions = vec![first["version"].as_str().expect("version").to_owned()];
    let stop = AtomicBool::new(false);
    let seen: Vec<(u16, String)> = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let reply = predict(&host, "dummy");
                let version = reply.body["model_version"].as_str().unwrap_or_default();
                seen.push((reply.status, version.to_owned()));
            }
            seen
        });
        for i in 1..=50 {
            let bytes = component_variant(&example_model("dummy"), &i.to_string());
            // Half the swaps rename into place, half overwrite the file in place.
            if i % 2 == 0 {
                rename_into_place(&path, &bytes);
            } else {
                std::fs::write(&path, &bytes).expect("overwrite");
            }
            let installed = wait_for(&host, "dummy", "swapped", |e| {
                e.is_some_and(|e| e["installs"].as_u64() == Some(i + 1))
            });
            let version = installed.expect("entry")["version"]
                .as_str()
                .expect("version")
                .to_owned();
            assert!(!versions.contains(&version), "swap {i} gave a new version");
            versions.push(version);
        }
        stop.store(true, Ordering::SeqCst);
        client.join().expect("client")
    });
    assert!(seen.len() > 50, "the client kept sending: {}", seen.len());
    let failed: Vec<_> = seen.iter().filter(|(status, _)| *status != 200).collect();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    // Every answer came from a version that was installed, and once a newer version
    // answered, no older one ever did again.
    let mut last = 0;
    for (_, version) in &seen {
        let index = versions
            .iter()
            .position(|v| v == version)
            .unwrap_or_else(|| panic!("unknown version {version}"));
        assert!(index >= last, "{version} answered after a newer version");
        last = index;
    }
    assert_eq!(
        seen.last().map(|(_, v)| v),
        versions.last(),
        "the last answers come from the last version"
    );
}

#[test]
fn broken_files_keep_the_working_version_serving() {
    let host = start(HostBuilder::new(BIN).example("dummy"));
    let path = model_path(&host, "dummy");
    let good = host.model_entry("dummy").expect("dummy");
    let full = std::fs::read(example_model("dummy")).expect("read");
    let wrong_world = std::fs::read(WRONG_WORLD).expect("read");
    for (what, bytes) in [
        ("not WebAssembly", b"this is not a component".to_vec()),
        ("half-written", full[..full.len() / 2].to_vec()),
        ("the wrong world", wrong_world),
        ("empty", Vec::new()),
    ] {
        std::fs::write(&path, &bytes).expect("write");
        let failed = wait_for(&host, "dummy", "reporting the failure", |e| {
            e.is_some_and(|e| e["last_error"].is_string() && e["loading"] == false)
        })
        .expect("entry");
        assert_eq!(failed["state"], "ready", "{what}: {failed}");
        assert_eq!(failed["version"], good["version"], "{what}");
        let reply = predict(&host, "dummy");
        assert_eq!(reply.status, 200, "{what}: {}", reply.raw);
        assert_eq!(reply.body["model_version"], good["version"]);
        // A good file clears the error; then back to the original bytes for the next case.
        rename_into_place(&path, &component_variant(&example_model("dummy"), what));
        wait_for(&host, "dummy", "recovered", |e| {
            e.is_some_and(|e| e["last_error"].is_null() && e["version"] != good["version"])
        });
        rename_into_place(&path, &full);
        wait_for(&host, "dummy", "back to the original", |e| {
            e.is_some_and(|e| e["version"] == good["version"])
        });
    }
    let logs = host.logs();
    let failures = logs
        .lines()
        .filter(|l| l.contains("model failed to load") && l.contains("dummy"))
        .count();
    assert!(
        failures >= 4,
        "each failure is logged with the model name:\n{logs}"
    );
}

#[test]
fn a_broken_new_file_is_listed_as_failed_with_its_error() {
    let host = start(HostBuilder::new(BIN).example("dummy"));
    std::fs::copy(WRONG_WORLD, model_path(&host, "other")).expect("copy");
    let failed = wait_for(&host, "other", "failed", |e| {
        e.is_some_and(|e| e["state"] == "failed")
    })
    .expect("entry");
    assert!(failed["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    let reply = host.get("/models/other/health");
    assert_eq!(reply.status, 503, "{}", reply.raw);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not loaded"))
    );
}

#[test]
fn a_restart_loads_known_components_from_the_compile_cache() {
    let data = tempfile::tempdir().expect("data dir");
    let builder = || HostBuilder::new(BIN).example("dummy").data_dir(data.path());
    {
        let host = start(builder());
        let cold = host.model_entry("dummy").expect("dummy");
        assert_eq!(cold["from_cache"], false, "{cold}");
    }
    let host = start(builder());
    let warm = host.model_entry("dummy").expect("dummy");
    assert_eq!(warm["from_cache"], true, "{warm}");
    assert_eq!(predict(&host, "dummy").status, 200);
    // A changed file misses the cache, and the host says where a load came from.
    std::fs::write(
        model_path(&host, "dummy"),
        component_variant(&example_model("dummy"), "new"),
    )
    .expect("write");
    let changed = wait_for(&host, "dummy", "reloaded", |e| {
        e.is_some_and(|e| e["installs"] == 2)
    })
    .expect("entry");
    assert_eq!(changed["from_cache"], false);
    host.wait_for_log(&["model reloaded", "dummy"]);
}

#[test]
fn opening_or_reading_the_files_is_not_a_change() {
    // inotify reports every open of a watched file, and the loader itself opens the files it
    // compares: acting on those events made each look at a file trigger the next, forever.
    let host = start(
        HostBuilder::new(BIN)
            .example("dummy")
            .env("RUST_LOG", "wasml=debug,info"),
    );
    let path = model_path(&host, "dummy");
    let manifest = path.with_extension("toml");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes).expect("rewrite the same bytes");
    host.wait_for_log(&["model file unchanged", "dummy"]);
    std::fs::write(&manifest, "[limits]\nno_such_limit = 1\n").expect("write manifest");
    host.wait_for_log(&["unknown field `no_such_limit`"]);
    // Let the events of those writes drain, then look at the log before and after a quiet
    // second in which other readers of the folder (backups, the user's tools) open both files.
    std::thread::sleep(Duration::from_millis(500));
    let looks = |host: &Host| {
        let logs = host.logs();
        let count = |needle: &str| logs.lines().filter(|l| l.contains(needle)).count();
        (count("model file unchanged"), count("model not (re)loaded"))
    };
    let before = looks(&host);
    for _ in 0..5 {
        std::fs::read(&path).expect("read");
        std::fs::read(&manifest).expect("read");
    }
    std::thread::sleep(Duration::from_secs(1));
    let after = looks(&host);
    // A loop looked at the files dozens of times a second; allow a straggling event or two
    // from the writes on a busy machine.
    assert!(
        after.0 <= before.0 + 2 && after.1 <= before.1 + 2,
        "files looked at again without a change: {before:?} then {after:?}:\n{}",
        host.logs()
    );
    // Removing the broken manifest puts the files back in step with what serves: the
    // error is cleared without a reload.
    std::fs::remove_file(&manifest).expect("remove manifest");
    let entry = wait_for(&host, "dummy", "clearing the error", |e| {
        e.is_some_and(|e| e["last_error"].is_null() && e["loading"] == false)
    })
    .expect("entry");
    assert_eq!(entry["installs"], 1, "{entry}");
    assert_eq!(predict(&host, "dummy").status, 200);
}

#[test]
fn a_symlinked_model_reloads_when_its_target_is_rebuilt_elsewhere() {
    // `ln -s ~/my-model/target/.../my_model.wasm models/my-model.wasm`, then `cargo build`:
    // the build replaces the target in a folder the watcher does not watch; the poll sees it.
    let host = start(HostBuilder::new(BIN).args(&["--poll-ms", "100"]));
    let build = tempfile::tempdir().expect("build folder");
    let target = build.path().join("my_model.wasm");
    let original = std::fs::read(example_model("dummy")).expect("read");
    std::fs::write(&target, &original).expect("write");
    std::os::unix::fs::symlink(&target, model_path(&host, "linked")).expect("symlink");
    let first = wait_for(&host, "linked", "loaded through the symlink", |e| {
        e.is_some_and(|e| e["state"] == "ready")
    })
    .expect("entry");
    assert_eq!(predict(&host, "linked").status, 200);

    rename_into_place(
        &target,
        &component_variant(&example_model("dummy"), "rebuilt"),
    );
    let rebuilt = wait_for(&host, "linked", "reloaded from the new target", |e| {
        e.is_some_and(|e| e["installs"] == 2)
    })
    .expect("entry");
    assert_ne!(rebuilt["version"], first["version"], "{rebuilt}");
    let reply = predict(&host, "linked");
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body["model_version"], rebuilt["version"]);
}
