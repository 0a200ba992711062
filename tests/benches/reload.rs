//! Hot reload, measured over HTTP against the release host (a load script, not criterion):
//!
//! 1. For each Rust example model: time from writing a new version of its file (renamed
//!    into place) to the new version serving, 20 times; the new versions are new content, so
//!    each one is compiled.
//! 2. Re-adding a known component (compile cache hit): remove the file, wait until the model
//!    is gone, put it back, time until it serves.
//! 3. Resident memory after the first reload and after 200 more.
//! 4. The large interpreter components (Python, JavaScript builds of `substring-matching`):
//!    added once with an empty compile cache (compiled), then removed and re-added (cached).
//!
//! Run: `cargo bench -p wasml-tests --bench reload`.

use std::time::{Duration, Instant};

use wasml_tests::{Host, HostBuilder, component_variant, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const MODELS: [&str; 4] = ["dummy", "substring-matching", "text-classifier", "simplest"];

fn installs(host: &Host, name: &str) -> Option<u64> {
    host.model_entry(name).and_then(|e| e["installs"].as_u64())
}

/// Writes `bytes` as `name`'s file (renamed into place) and returns the time until the
/// model's installs counter reaches `target`.
fn swap(host: &Host, name: &str, bytes: &[u8], target: u64) -> Duration {
    let dest = host.models_dir.path().join(format!("{name}.wasm"));
    let tmp = host.models_dir.path().join(format!(".{name}.part"));
    std::fs::write(&tmp, bytes).expect("write");
    let started = Instant::now();
    std::fs::rename(&tmp, &dest).expect("rename");
    while installs(host, name) != Some(target) {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{name} never swapped"
        );
        // Not faster: on two cores the poller would slow the compiler it measures.
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

/// Removes model `name`'s file, waits until the model is gone, and puts `known` (content the
/// host compiled before) back, `times` times: each answer comes from the compile cache.
fn readd(host: &Host, name: &str, known: &[u8], times: usize) -> Vec<Duration> {
    let path = host.models_dir.path().join(format!("{name}.wasm"));
    let samples = (0..times)
        .map(|_| {
            std::fs::remove_file(&path).expect("remove");
            while host.model_entry(name).is_some() {
                std::thread::sleep(Duration::from_millis(1));
            }
            swap(host, name, known, 1)
        })
        .collect();
    assert_eq!(host.model_entry(name).expect("entry")["from_cache"], true);
    samples
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let data = tempfile::tempdir().expect("data dir");
    let mut builder = HostBuilder::new(BIN).data_dir(data.path());
    for name in MODELS {
        builder = builder.example(name);
    }
    let host = builder.start();
    host.wait_ready();

    for name in MODELS {
        let mut loads = Vec::new();
        let samples: Vec<Duration> = (0..20u64)
            .map(|i| {
                let bytes = component_variant(&example_model(name), &format!("bench-{i}"));
                let took = swap(&host, name, &bytes, i + 2);
                let load_ms = host.model_entry(name).and_then(|e| e["load_ms"].as_u64());
                loads.push(Duration::from_millis(load_ms.unwrap_or(0)));
                took
            })
            .collect();
        let size = std::fs::metadata(example_model(name)).map_or(0, |m| m.len());
        eprintln!(
            "{name} ({} KiB): write -> new version serving, compiled: median {:.1} ms \
             (of which load: read + compile + validate {:.1} ms)",
            size / 1024,
            median(samples),
            median(loads)
        );
    }

    let name = "text-classifier";
    let path = host.models_dir.path().join(format!("{name}.wasm"));
    let known = std::fs::read(&path).expect("read");
    let samples = readd(&host, name, &known, 10);
    eprintln!(
        "{name}: re-added, from the compile cache: median {:.1} ms",
        median(samples)
    );

    let pid = host.pid();
    let dummy = example_model("dummy");
    let first = installs(&host, "dummy").expect("dummy");
    swap(
        &host,
        "dummy",
        &component_variant(&dummy, "rss-0"),
        first + 1,
    );
    let after_first = rss_kib(pid);
    for i in 1..=200u64 {
        swap(
            &host,
            "dummy",
            &component_variant(&dummy, &format!("rss-{i}")),
            first + 1 + i,
        );
    }
    let after_200 = rss_kib(pid);
    eprintln!(
        "RSS after the first reload {} MiB, after 200 more {} MiB ({:+.1}%)",
        after_first / 1024,
        after_200 / 1024,
        (after_200 as f64 / after_first as f64 - 1.0) * 100.0
    );
    for build in ["substring-matching-python", "substring-matching-js"] {
        let bytes = std::fs::read(example_model(build)).expect("read a large build");
        let path = host.models_dir.path().join(format!("{build}.wasm"));
        let cold = swap(&host, build, &bytes, 1);
        let rss_loaded = rss_kib(pid);
        let samples = readd(&host, build, &bytes, 5);
        eprintln!(
            "{build} ({} MiB): added, compiled {:.1} s; re-added, from the compile cache: \
             median {:.1} ms",
            bytes.len() >> 20,
            cold.as_secs_f64(),
            median(samples)
        );
        eprintln!(
            "{build}: RSS after its first load {} MiB, after 5 cached re-adds {} MiB",
            rss_loaded / 1024,
            rss_kib(pid) / 1024
        );
        std::fs::remove_file(&path).expect("remove");
    }
}
