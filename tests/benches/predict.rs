//! `predict` through the runtime for the dummy model: fresh store + instantiate + call +
//! drop, with 1 and 100 tasks; and the same on the fuel-metered engine (a model whose
//! manifest sets a fuel budget). Compilation happens once, outside the measurement.

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_main};
use serde_json::json;
use wasml::limits::CallLimits;
use wasml::registry::load_model;
use wasml::runtime::{CallConfig, CallInput, Runtime};
use wasml::store::{CallStore, MemoryStore, ModelStore, ProjectKey};

const CONFIG: &str = r#"<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"#;

fn predict(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let runtime = Runtime::new().expect("runtime");
    let store: Arc<dyn ModelStore> = Arc::new(MemoryStore::default());
    let load = |limits| {
        rt.block_on(load_model(
            &runtime,
            store.clone(),
            "dummy",
            &wasml_tests::example_model("dummy"),
            limits,
        ))
        .expect("load dummy")
    };
    let plain = load(CallLimits::default());
    let metered = load(CallLimits {
        predict_fuel: Some(1 << 40),
        ..CallLimits::default()
    });
    let config = CallConfig::parse(CONFIG.to_owned()).expect("config");
    let scope = ProjectKey {
        model: "dummy".into(),
        project: "1".into(),
    };
    let mut group = c.benchmark_group(format!("predict_dummy_pooling_{}", runtime.pooling));
    for (engine, model, tasks) in [
        ("plain", &plain, 1usize),
        ("plain", &plain, 100),
        ("metered", &metered, 1),
        ("metered", &metered, 100),
    ] {
        let task_json: Vec<String> = (0..tasks)
            .map(|i| json!({"id": i, "data": {"text": "a fine day"}}).to_string())
            .collect();
        group.bench_with_input(
            BenchmarkId::new(engine, tasks),
            &task_json,
            |b, task_json| {
                b.to_async(&rt).iter(|| async {
                    let input = CallInput {
                        project: "1",
                        config: &config,
                        model_version: "1.0.0+bench",
                        extra_params: None,
                    };
                    model
                        .predict(
                            CallStore::new(store.clone(), scope.clone()),
                            &input,
                            task_json,
                            None,
                        )
                        .await
                        .expect("predict")
                });
            },
        );
    }
    group.finish();
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::predict);
}
criterion_main!(group::benches);
