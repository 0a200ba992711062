//! Text classification, after Label Studio's scikit-learn text classifier example, with a
//! multinomial naive Bayes model over word unigrams and bigrams (character unigrams and
//! bigrams for scripts written without spaces) in place of TF-IDF and logistic regression.
//!
//! It works on the first `<Choices>` control that reads a `<Text>` (or `<HyperText>`) object:
//!
//! - **`fit`** learns from the annotations the webhooks carry (the reference downloads them
//!   from Label Studio; the sandbox has no network). Each annotation's chosen labels and its
//!   task's text are one example, stored under `example/<annotation id>`: an update replaces
//!   it, `ANNOTATIONS_DELETED`, a skipped (cancelled) annotation or one without a choice
//!   removes it. The trained counts live under `model`; `START_TRAINING` rebuilds them from
//!   the stored examples. The result is a JSON summary: examples added, replaced, removed,
//!   and the model's documents per label and vocabulary size. The call reports "trained"
//!   exactly when the model's counts changed.
//! - **`predict`** gives each task the most likely choice as a `choices` region, its
//!   posterior probability as both region and prediction score. Before any training, or for
//!   a task without text, the task's prediction is empty. With a single class seen so far,
//!   that class is predicted with probability 1: naive Bayes has nothing to compare it with.
//!
//! Keeping the model up to date: each call runs in a fresh instance, so rebuilding the model
//! on every annotation would read and re-tokenise every stored example each time. The counts
//! are updated in place instead: subtract the annotation's previous example, add the new one.
//! That is exact, because the model is integer counts (adding and removing a document restores
//! the model bit for bit), and consistent, because the host commits a call's store writes (the
//! example and the counts) in one transaction or not at all. `START_TRAINING`, the user's
//! explicit "retrain", rebuilds from the examples anyway; so does any `fit` that finds counts
//! made by an older tokeniser.

// The pure logic is public: a classifier and tokeniser usable (and tested) outside wasm.
pub mod naive_bayes;
pub mod tokenize;
mod training;

use serde::{Deserialize, Serialize};
use wasml_guest::serde_json::{Map, Value, json};
use wasml_guest::{Call, Context, Error, Event, EventKind, Fit, Model, Prediction, Task, store};

use naive_bayes::NaiveBayes;
use tokenize::{TOKENIZER_VERSION, tokenize};
use training::{Example, Lesson, Target, annotation_key, lesson, task_of};

/// Store key of the trained model ([`Trained`] as JSON).
const MODEL_KEY: &str = "model";
/// Prefix of the store keys of training examples: `example/<annotation id>`.
const EXAMPLE_PREFIX: &str = "example/";

/// The trained state, as stored under [`MODEL_KEY`]. One JSON value for the whole model keeps
/// `predict` to a single store read; its size grows with the vocabulary (tens of bytes per
/// distinct token), well within the host's value limit for the projects this example is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Trained {
    /// The [`TOKENIZER_VERSION`] that produced the counts.
    tokenizer: u32,
    /// The counts.
    classifier: NaiveBayes,
}

impl Default for Trained {
    fn default() -> Self {
        Self {
            tokenizer: TOKENIZER_VERSION,
            classifier: NaiveBayes::default(),
        }
    }
}

struct TextClassifier;

impl Model for TextClassifier {
    const NAME: &'static str = "text-classifier";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "Classifies texts into the choices of a <Choices> control \
        with naive Bayes, trained from the project's annotations.";

    fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let target = Target::find(&call.label_config)?;
        let classifier = store::get_json::<Trained>(MODEL_KEY)?
            .map(|trained| trained.classifier)
            .unwrap_or_default();
        Ok(tasks
            .iter()
            .map(|task| predict_task(&target, &classifier, task))
            .collect())
    }

    fn fit(call: &Call, event: &Event) -> Result<Fit, Error> {
        let before = store::get_json::<Trained>(MODEL_KEY)?.unwrap_or_default();
        let mut summary = Summary::default();
        let mut trained = if before.tokenizer == TOKENIZER_VERSION {
            before.clone()
        } else {
            summary.rebuilt = true;
            rebuild()?
        };
        let payload = &event.payload;
        match event.kind() {
            EventKind::AnnotationCreated | EventKind::AnnotationUpdated => {
                if let Some(annotation) = payload.get("annotation") {
                    let target = Target::find(&call.label_config)?;
                    let task = event
                        .task()
                        .or_else(|| task_of(annotation, event.task_list()));
                    let lesson = lesson(&target, annotation, task.as_ref());
                    apply(&mut trained.classifier, annotation, lesson, &mut summary)?;
                }
            }
            EventKind::AnnotationsCreated => {
                let annotations = event.annotation_list();
                if !annotations.is_empty() {
                    let target = Target::find(&call.label_config)?;
                    for annotation in annotations {
                        let task = task_of(annotation, event.task_list());
                        let lesson = lesson(&target, annotation, task.as_ref());
                        apply(&mut trained.classifier, annotation, lesson, &mut summary)?;
                    }
                }
            }
            // Only ids are sent, and often an empty label config: no target needed.
            EventKind::AnnotationsDeleted => {
                for annotation in event.annotation_list() {
                    apply(
                        &mut trained.classifier,
                        annotation,
                        Lesson::Forget,
                        &mut summary,
                    )?;
                }
            }
            EventKind::StartTraining => {
                if !summary.rebuilt {
                    summary.rebuilt = true;
                    trained = rebuild()?;
                }
            }
            EventKind::Other(_) => {}
        }
        let changed = trained != before;
        if changed {
            store::set_json(MODEL_KEY, &trained)?;
        }
        let result = summary.to_json(&trained.classifier);
        Ok(if changed {
            Fit::trained(result)
        } else {
            Fit::unchanged(result)
        })
    }
}

/// The prediction for one task: the most likely allowed choice, or nothing.
fn predict_task(target: &Target, classifier: &NaiveBayes, task: &Task) -> Prediction {
    let Some(text) = task.text(target.data_key) else {
        return Prediction::empty();
    };
    let best = classifier
        .posterior_among(&tokenize(text), |label| target.allows(label))
        .into_iter()
        .next();
    match best {
        Some((label, probability)) => Prediction::new(vec![
            target.regions.choices(&[label]).with_score(probability),
        ])
        .with_score(probability),
        None => Prediction::empty(),
    }
}

/// What a `fit` call did: its result for Label Studio.
///
/// ```json
/// {"added": 1, "replaced": 0, "removed": 0, "unchanged": 0, "ignored": 0, "rebuilt": false,
///  "documents": 12, "labels": {"Sports": 7, "Tech": 5}, "vocabulary": 230}
/// ```
///
/// `added`/`replaced`/`removed` count examples, `unchanged` annotations whose example was
/// already stored as is, `ignored` annotations the payload did not say enough about (no id,
/// or no text); `rebuilt` tells whether the counts were recomputed from all examples.
/// `documents`, `labels` (documents per label) and `vocabulary` (distinct tokens) describe
/// the model after the call.
#[derive(Debug, Default)]
struct Summary {
    added: usize,
    replaced: usize,
    removed: usize,
    unchanged: usize,
    ignored: usize,
    rebuilt: bool,
}

impl Summary {
    fn to_json(&self, classifier: &NaiveBayes) -> Value {
        let labels: Map<String, Value> = classifier
            .classes()
            .map(|(label, counts)| (label.to_owned(), json!(counts.documents)))
            .collect();
        let documents: u64 = classifier.classes().map(|(_, c)| c.documents).sum();
        json!({
            "added": self.added,
            "replaced": self.replaced,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "ignored": self.ignored,
            "rebuilt": self.rebuilt,
            "documents": documents,
            "labels": labels,
            "vocabulary": classifier.vocabulary(),
        })
    }
}

/// Applies what `annotation` teaches: replaces its stored example, and its counts in
/// `classifier`, by the new one (or by nothing).
fn apply(
    classifier: &mut NaiveBayes,
    annotation: &Value,
    lesson: Lesson,
    summary: &mut Summary,
) -> Result<(), Error> {
    let new = match lesson {
        Lesson::Learn(example) => Some(example),
        Lesson::Forget => None,
        Lesson::Ignore(_) => {
            summary.ignored += 1;
            return Ok(());
        }
    };
    let Some(id) = annotation_key(annotation) else {
        summary.ignored += 1;
        return Ok(());
    };
    let key = format!("{EXAMPLE_PREFIX}{id}");
    let old = store::get_json::<Example>(&key)?;
    if old == new {
        summary.unchanged += 1;
        return Ok(());
    }
    if let Some(old) = &old {
        learn(classifier, old, NaiveBayes::remove);
    }
    match &new {
        Some(example) => {
            learn(classifier, example, NaiveBayes::add);
            store::set_json(&key, example)?;
        }
        None => {
            store::delete(&key)?;
        }
    }
    match (old.is_some(), new.is_some()) {
        (false, _) => summary.added += 1,
        (true, true) => summary.replaced += 1,
        (true, false) => summary.removed += 1,
    }
    Ok(())
}

/// Adds (or removes, with `NaiveBayes::remove`) `example` as one document per label.
fn learn(
    classifier: &mut NaiveBayes,
    example: &Example,
    update: fn(&mut NaiveBayes, &[String], &str),
) {
    let tokens = tokenize(&example.text);
    for label in &example.labels {
        update(classifier, &tokens, label);
    }
}

/// The model trained from scratch on every stored example.
fn rebuild() -> Result<Trained, Error> {
    let mut trained = Trained::default();
    for key in store::list_keys(EXAMPLE_PREFIX)? {
        if let Some(example) = store::get_json::<Example>(&key)? {
            learn(&mut trained.classifier, &example, NaiveBayes::add);
        }
    }
    Ok(trained)
}

wasml_guest::export!(TextClassifier);

#[cfg(test)]
mod tests;
