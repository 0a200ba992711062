//! Training-side costs through the runtime (no HTTP): the store as a guest sees it (1000
//! writes of 4 KiB committed to redb in one transaction; 1000 listed reads), and the
//! text classifier's `predict` for 100 tasks once trained on tests/data/text-classifier.

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_main};
use serde_json::{Value, json};
use wasml::limits::CallLimits;
use wasml::registry::load_model;
use wasml::runtime::{CallConfig, CallInput, LoadedModel, Runtime};
use wasml::store::{CallStore, ModelStore, ProjectKey, RedbStore};

const KEYS: usize = 1000;

struct Bench {
    rt: tokio::runtime::Runtime,
    runtime: Runtime,
    store: Arc<dyn ModelStore>,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(&dir.path().join("store.redb")).expect("redb");
        Self {
            rt: tokio::runtime::Runtime::new().expect("tokio"),
            runtime: Runtime::new().expect("runtime"),
            store: Arc::new(store),
            _dir: dir,
        }
    }

    fn load(&self, name: &str, path: &Path) -> LoadedModel {
        self.rt
            .block_on(load_model(
                &self.runtime,
                self.store.clone(),
                name,
                path,
                CallLimits::default(),
            ))
            .expect("load")
    }

    fn call_store(&self, model: &str) -> CallStore {
        CallStore::new(
            self.store.clone(),
            ProjectKey {
                model: model.into(),
                project: "1".into(),
            },
        )
    }
}

fn input(config: &CallConfig) -> CallInput<'_> {
    CallInput {
        project: "1",
        config,
        model_version: "bench",
        extra_params: None,
    }
}

fn store_from_a_guest(c: &mut Criterion) {
    let bench = Bench::new();
    let model = bench.load("misbehave", Path::new(wasml_tests::MISBEHAVE));
    let config = CallConfig::parse("<View/>".to_owned()).expect("config");
    let task = |action: &str| {
        vec![json!({"data": {"action": action, "round": "1", "n": KEYS.to_string()}}).to_string()]
    };
    let (burst, check) = (task("burst"), task("check-burst"));
    let mut group = c.benchmark_group("store_redb_4KiB_values");
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("set_1000_and_commit", |b| {
        b.to_async(&bench.rt).iter(|| async {
            let answer = model
                .predict(bench.call_store("misbehave"), &input(&config), &burst, None)
                .await
                .expect("burst");
            bench
                .store
                .commit(answer.store.into_batch())
                .await
                .expect("commit");
        });
    });
    group.bench_function("list_and_get_1000", |b| {
        b.to_async(&bench.rt).iter(|| async {
            let answer = model
                .predict(bench.call_store("misbehave"), &input(&config), &check, None)
                .await
                .expect("check");
            assert!(
                answer.value[0].contains("\"keys\": 1000"),
                "{}",
                answer.value[0]
            );
        });
    });
    group.finish();
}

fn classifier_predict(c: &mut Criterion) {
    let bench = Bench::new();
    let model = bench.load(
        "text-classifier",
        &wasml_tests::example_model("text-classifier"),
    );
    let raw = wasml_tests::data("text-classifier/config.xml");
    let config = CallConfig::parse(raw).expect("config");
    let train: Vec<Value> =
        serde_json::from_str(&wasml_tests::data("text-classifier/train.json")).expect("data");
    bench.rt.block_on(async {
        for (i, item) in train.iter().enumerate() {
            let payload = json!({
                "action": "ANNOTATION_CREATED",
                "annotation": {"id": i, "result": [{"from_name": "label", "to_name": "text",
                    "type": "choices", "value": {"choices": [item["label"]]}}]},
                "task": {"id": i, "data": {"text": item["text"]}},
                "project": {"id": 1},
            });
            let fit = model
                .fit(
                    bench.call_store("text-classifier"),
                    &input(&config),
                    "ANNOTATION_CREATED",
                    &payload.to_string(),
                )
                .await
                .expect("fit");
            bench
                .store
                .commit(fit.store.into_batch())
                .await
                .expect("commit");
        }
    });
    let heldout: Vec<Value> =
        serde_json::from_str(&wasml_tests::data("text-classifier/heldout.json")).expect("data");
    let tasks: Vec<String> = (0..100)
        .map(|i| {
            let text = &heldout[i % heldout.len()]["text"];
            json!({"id": i, "data": {"text": text}}).to_string()
        })
        .collect();
    c.bench_function("text_classifier_predict_100_tasks", |b| {
        b.to_async(&bench.rt).iter(|| async {
            let answer = model
                .predict(
                    bench.call_store("text-classifier"),
                    &input(&config),
                    &tasks,
                    None,
                )
                .await
                .expect("predict");
            assert!(answer.value[0].contains("choices"));
        });
    });
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(
        benches,
        super::store_from_a_guest,
        super::classifier_predict
    );
}
criterion_main!(group::benches);
