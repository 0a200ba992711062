//! Shaping answers: checking and stamping the guest's predictions, summarising models.

use serde_json::{Map, Value, json};

use crate::registry::ModelEntry;
use crate::runtime::CallError;

/// Checks the guest's slots (one per task, each a prediction object with a `result` list or
/// a list of such objects) and stamps `model_version` on every prediction, so predictions
/// always agree with `/setup`.
pub(super) fn stamp_slots(
    slots: &[String],
    tasks: usize,
    version: &str,
) -> Result<Vec<Value>, CallError> {
    if slots.len() != tasks {
        return Err(CallError::InvalidOutput(format!(
            "{} predictions for {tasks} tasks",
            slots.len()
        )));
    }
    slots
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut slot: Value = serde_json::from_str(raw).map_err(|e| {
                CallError::InvalidOutput(format!("prediction {i} is not JSON: {e}"))
            })?;
            match &mut slot {
                Value::Object(prediction) => stamp_prediction(prediction, version, i)?,
                Value::Array(predictions) => {
                    for prediction in predictions {
                        let Value::Object(prediction) = prediction else {
                            return Err(CallError::InvalidOutput(format!(
                                "prediction {i} holds a non-object"
                            )));
                        };
                        stamp_prediction(prediction, version, i)?;
                    }
                }
                _ => {
                    return Err(CallError::InvalidOutput(format!(
                        "prediction {i} is neither an object nor a list"
                    )));
                }
            }
            Ok(slot)
        })
        .collect()
}

fn stamp_prediction(
    prediction: &mut Map<String, Value>,
    version: &str,
    index: usize,
) -> Result<(), CallError> {
    if !prediction.get("result").is_some_and(Value::is_array) {
        return Err(CallError::InvalidOutput(format!(
            "prediction {index} has no `result` list"
        )));
    }
    prediction.insert("model_version".into(), json!(version));
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
        let stamped = stamp_slots(&slots, 2, "v1").expect("valid");
        assert_eq!(stamped[0]["model_version"], "v1");
        assert_eq!(stamped[1][0]["model_version"], "v1");
        assert!(stamp_slots(&slots, 3, "v1").is_err());
        for bad in [
            "nope",
            "42",
            r#"{"score": 1}"#,
            r#"[1]"#,
            r#"{"result": {}}"#,
        ] {
            assert!(stamp_slots(&[bad.to_owned()], 1, "v").is_err(), "{bad}");
        }
    }
}
