//! Shaping answers: checking and stamping the guest's predictions, summarising models.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::registry::ModelEntry;
use crate::runtime::CallError;

/// Checks the guest's slots (one per task, each a prediction object with a `result` list or
/// a list of such objects) and stamps `model_version` on every prediction, so predictions
/// always agree with `/setup`. Returns the JSON list of the slots: the guest's text is kept
/// as it is, field by field, rather than parsed into a tree and written out again.
pub(super) fn stamp_slots(
    slots: &[String],
    tasks: usize,
    version: &str,
) -> Result<String, CallError> {
    if slots.len() != tasks {
        return Err(CallError::InvalidOutput(format!(
            "{} predictions for {tasks} tasks",
            slots.len()
        )));
    }
    let version = serde_json::to_string(version).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(slots.iter().map(|s| s.len() + version.len() + 20).sum());
    out.push('[');
    for (i, raw) in slots.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match raw.trim_start().as_bytes().first() {
            Some(b'{') => stamp_prediction(&mut out, raw, &version, i)?,
            Some(b'[') => {
                let predictions: Vec<&RawValue> = serde_json::from_str(raw).map_err(|e| {
                    CallError::InvalidOutput(format!("prediction {i} is not JSON: {e}"))
                })?;
                out.push('[');
                for (n, prediction) in predictions.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    if !prediction.get().starts_with('{') {
                        return Err(CallError::InvalidOutput(format!(
                            "prediction {i} holds a non-object"
                        )));
                    }
                    stamp_prediction(&mut out, prediction.get(), &version, i)?;
                }
                out.push(']');
            }
            _ => {
                // Tell broken JSON from JSON of the wrong kind.
                return Err(CallError::InvalidOutput(
                    match serde_json::from_str::<&RawValue>(raw) {
                        Ok(_) => format!("prediction {i} is neither an object nor a list"),
                        Err(e) => format!("prediction {i} is not JSON: {e}"),
                    },
                ));
            }
        }
    }
    out.push(']');
    Ok(out)
}

/// Appends one prediction object to `out` with `model_version` (JSON-encoded) in place of
/// any the guest set; its other fields are copied as the guest wrote them.
fn stamp_prediction(
    out: &mut String,
    raw: &str,
    version: &str,
    index: usize,
) -> Result<(), CallError> {
    let fields: IndexMap<String, &RawValue> = serde_json::from_str(raw)
        .map_err(|e| CallError::InvalidOutput(format!("prediction {index} is not JSON: {e}")))?;
    if !fields
        .get("result")
        .is_some_and(|r| r.get().starts_with('['))
    {
        return Err(CallError::InvalidOutput(format!(
            "prediction {index} has no `result` list"
        )));
    }
    out.push('{');
    for (name, value) in fields.iter().filter(|(name, _)| *name != "model_version") {
        // A key the parser unescaped is escaped again; plain keys come out as they went in.
        out.push_str(&serde_json::to_string(name).unwrap_or_default());
        out.push(':');
        out.push_str(value.get());
        out.push(',');
    }
    out.push_str("\"model_version\":");
    out.push_str(version);
    out.push('}');
    Ok(())
}

pub(super) fn model_summary(name: &str, entry: &ModelEntry) -> Value {
    let loaded_at = entry.loaded_at.and_then(|t| {
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs_f64())
    });
    let mut summary = json!({
        "name": name,
        "url": format!("/models/{name}"),
        "state": entry.state,
        "file": entry.path.display().to_string(),
        "loaded_at": loaded_at,
        "load_ms": entry.load_ms,
        "loading": entry.loading,
        "installs": entry.installs,
        "last_error": entry.last_error,
    });
    if let (Some(model), Some(obj)) = (&entry.current, summary.as_object_mut()) {
        obj.insert("version".into(), json!(model.version(0)));
        obj.insert("component_sha256".into(), json!(model.component_hash));
        obj.insert("from_cache".into(), json!(model.from_cache));
        obj.insert("calls_running".into(), json!(model.calls_running()));
        obj.insert("warm_instances".into(), json!(model.warm_instances()));
        obj.insert("max_instances".into(), json!(model.limits.max_instances));
        let limits = &model.limits;
        // The limits in force, in the manifest's units, so a user can check an override.
        obj.insert(
            "limits".into(),
            json!({
                "memory_mib": limits.memory_bytes >> 20,
                "predict_timeout_secs": limits.predict_timeout.as_secs_f64(),
                "fit_timeout_secs": limits.fit_timeout.as_secs_f64(),
                "max_instances": limits.max_instances,
                "output_kib": limits.output_bytes >> 10,
                "predict_fuel": limits.predict_fuel,
                "fit_fuel": limits.fit_fuel,
                "fetch_mib": limits.fetch_bytes >> 20,
                "fetch_timeout_secs": limits.fetch_timeout.as_secs_f64(),
                "fetch_origins": model.grants.egress.origins(),
            }),
        );
        let plan = &model.graphs.plan;
        obj.insert(
            "nn".into(),
            json!({
                "graphs": model.graphs.reports(),
                "memory_mib": plan.tensor_bytes >> 20,
                "allow_graph_bytes": plan.allow_graph_bytes,
            }),
        );
        obj.insert(
            "info".into(),
            json!({
                "name": model.info.name,
                "version": model.info.version,
                "description": model.info.description,
                "interactive": model.info.interactive,
            }),
        );
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_checked_and_stamped() {
        let slots = vec![
            r#"{"result": []}"#.to_owned(),
            r#"[{"result": [], "score": 1}]"#.to_owned(),
        ];
        let stamped: Value =
            serde_json::from_str(&stamp_slots(&slots, 2, "v1").expect("valid")).expect("JSON");
        assert_eq!(stamped[0]["model_version"], "v1");
        assert_eq!(stamped[1][0]["model_version"], "v1");
        assert_eq!(stamped[1][0]["score"], 1);
        // The guest's own version is replaced, its other fields kept as written.
        let own =
            vec![r#"{"model_version": "mine", "result": [{"a\"b": 1}], "x": null}"#.to_owned()];
        let stamped: Value =
            serde_json::from_str(&stamp_slots(&own, 1, "v\"2").expect("valid")).expect("JSON");
        assert_eq!(
            stamped,
            json!([{"result": [{"a\"b": 1}], "x": null, "model_version": "v\"2"}])
        );
        assert!(stamp_slots(&slots, 3, "v1").is_err());
        for bad in [
            "nope",
            "42",
            r#"{"score": 1}"#,
            r#"[1]"#,
            r#"{"result": {}}"#,
            r#"{"result": [}"#,
            r#"[{"result": []}"#,
        ] {
            assert!(stamp_slots(&[bad.to_owned()], 1, "v").is_err(), "{bad}");
        }
    }
}
