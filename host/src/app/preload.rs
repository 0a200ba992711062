//! Texts behind URLs: a `<Text>`, `<HyperText>` or `<Paragraphs>` object with
//! `valueType="url"` shows the file its task value points to. Like the Python SDK's
//! `preload_task_data`, the host fetches it (through the call's own task-data view, so the
//! model's policy and budget apply) and hands the model the content in place of the URL, so
//! text models in every language work unchanged on projects whose texts are files.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::labelconfig::{InputSource, LabelConfig};
use crate::taskdata::TaskDataCall;

/// The object tags whose `valueType="url"` means "the value is the URL of the content".
const URL_CONTENT_TAGS: [&str; 3] = ["Text", "HyperText", "Paragraphs"];

/// The data keys of `config` whose values are URLs of texts, with whether the content is
/// JSON (`Paragraphs` shows a list of paragraphs).
pub(super) fn url_content_keys(config: &LabelConfig) -> Vec<(String, bool)> {
    let mut keys: Vec<(String, bool)> = Vec::new();
    for input in config.controls.values().flat_map(|c| &c.inputs) {
        let (InputSource::Value(key), Some("url")) = (&input.source, input.value_type.as_deref())
        else {
            continue;
        };
        if URL_CONTENT_TAGS.contains(&input.tag.as_str()) && !keys.iter().any(|(k, _)| k == key) {
            keys.push((key.clone(), input.tag == "Paragraphs"));
        }
    }
    keys
}

/// Replaces, in one task, each value of `keys` that is a string by the content it points to.
pub(super) async fn preload_task(
    model: &str,
    task: &mut Map<String, Value>,
    keys: &[(String, bool)],
    fetch: &mut TaskDataCall,
) -> Result<(), ApiError> {
    let id = task.get("id").and_then(Value::as_u64);
    let Some(Value::Object(data)) = task.get_mut("data") else {
        return Ok(());
    };
    for (key, json) in keys {
        let Some(Value::String(url)) = data.get(key) else {
            continue;
        };
        let url = url.clone();
        let fetched = fetch
            .fetch(&url, id)
            .await
            .map_err(|failure| ApiError::TaskData {
                model: model.to_owned(),
                task: id,
                key: key.clone(),
                url: url.clone(),
                failure,
            })?;
        let text = String::from_utf8_lossy(&fetched.bytes).into_owned();
        let content = if *json {
            // A Paragraphs file is a JSON list; anything else is shown as one text.
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        data.insert(key.clone(), content);
    }
    Ok(())
}

/// [`preload_task`] for the tasks a webhook payload carries, as JSON text: `task` is one
/// task for single annotation events and a list of them for bulk ones
/// (`ANNOTATIONS_CREATED`).
pub(super) async fn preload_payload(
    model: &str,
    payload: &str,
    keys: &[(String, bool)],
    fetch: &mut TaskDataCall,
) -> Result<String, ApiError> {
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(payload) else {
        return Ok(payload.to_owned());
    };
    // Tasks sit under `task` (one, or a list for bulk events), and may be embedded in the
    // annotations of a bulk event (`annotation: [{"task": {...}}]`).
    let mut tasks: Vec<&mut Map<String, Value>> = Vec::new();
    let (task, annotations) = split_tasks_and_annotations(&mut body);
    match task {
        Some(Value::Object(task)) => tasks.push(task),
        Some(Value::Array(list)) => tasks.extend(list.iter_mut().filter_map(Value::as_object_mut)),
        _ => {}
    }
    if let Some(Value::Array(list)) = annotations {
        tasks.extend(
            list.iter_mut()
                .filter_map(|a| a.get_mut("task"))
                .filter_map(Value::as_object_mut),
        );
    }
    if tasks.is_empty() {
        return Ok(payload.to_owned());
    }
    for task in tasks {
        preload_task(model, task, keys, fetch).await?;
    }
    Ok(Value::Object(body).to_string())
}

/// The `task` and `annotation` fields of a webhook body, borrowed apart.
fn split_tasks_and_annotations(
    body: &mut Map<String, Value>,
) -> (Option<&mut Value>, Option<&mut Value>) {
    let mut task = None;
    let mut annotation = None;
    for (key, value) in body.iter_mut() {
        match key.as_str() {
            "task" => task = Some(value),
            "annotation" => annotation = Some(value),
            _ => {}
        }
    }
    (task, annotation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_url_valued_text_objects_are_preloaded() {
        let config = LabelConfig::parse(
            r#"<View>
                 <Text name="t" value="$doc" valueType="url"/>
                 <Text name="plain" value="$text"/>
                 <Paragraphs name="p" value="$dialogue" valueType="url" nameKey="a" textKey="b"/>
                 <Image name="i" value="$image" valueType="url"/>
                 <Choices name="c" toName="t,plain,p,i"><Choice value="A"/></Choices>
               </View>"#,
        )
        .expect("valid");
        assert_eq!(
            url_content_keys(&config),
            [("doc".to_owned(), false), ("dialogue".to_owned(), true)]
        );
    }
}
