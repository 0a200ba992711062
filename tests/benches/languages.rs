//! The same model in each language: `substring-matching` on Label Studio's real interactive
//! request (one task, one labeled span), through the runtime: fresh store + instantiate +
//! call + drop. Also prints the linear memory one instance holds after the call.
//! Compilation happens once, outside the measurement (from a compile cache after the first
//! run).

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_main};
use serde_json::Value;
use wasml::limits::CallLimits;
use wasml::registry::load_model;
use wasml::runtime::{CallConfig, CallInput, Runtime};
use wasml::store::{CallStore, MemoryStore, ModelStore, ProjectKey};

/// Builds of `substring-matching`: language and file stem.
const BUILDS: [(&str, &str); 4] = [
    ("rust", "substring-matching"),
    ("python", "substring-matching-python"),
    ("js", "substring-matching-js"),
    ("c", "substring-matching-c"),
];

fn languages(c: &mut Criterion) {
    let request: Value = serde_json::from_str(&wasml_tests::data(
        "protocol/predict-interactive.request.json",
    ))
    .expect("request");
    let config_raw = request["label_config"].as_str().expect("label_config");
    let config = CallConfig::parse(config_raw.to_owned()).expect("config");
    let tasks: Vec<String> = request["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(Value::to_string)
        .collect();
    let context = request["params"]["context"].to_string();

    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let cache = std::path::Path::new(wasml_tests::SHARED_COMPILE_CACHE);
    let runtime = Runtime::new()
        .and_then(|r| r.with_cache(cache))
        .expect("runtime");
    let store: Arc<dyn ModelStore> = Arc::new(MemoryStore::default());
    let scope = ProjectKey {
        model: "bench".into(),
        project: "1".into(),
    };
    let input = CallInput {
        project: "1",
        config: &config,
        model_version: "1.0.0+bench",
        extra_params: None,
    };

    let mut group = c.benchmark_group("predict_substring_matching_by_language");
    for (lang, stem) in BUILDS {
        let path = wasml_tests::example_model(stem);
        let model = rt
            .block_on(load_model(
                &runtime,
                store.clone(),
                stem,
                &path,
                CallLimits::default(),
            ))
            .unwrap_or_else(|e| panic!("load {stem}: {e:#}"));
        let call = || async {
            model
                .predict(
                    CallStore::new(store.clone(), scope.clone()),
                    &input,
                    &tasks,
                    Some(&context),
                )
                .await
                .expect("predict")
        };
        let outcome = rt.block_on(call());
        eprintln!(
            "{lang}: component {:.1} MiB, linear memory per instance {:.2} MiB",
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0,
            outcome.memory_bytes as f64 / 1048576.0
        );
        group.bench_function(BenchmarkId::from_parameter(lang), |b| {
            b.to_async(&rt).iter(call);
        });
    }
    group.finish();
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::languages);
}
criterion_main!(group::benches);
