//! The "simplest ML backend" of Label Studio's guides, as a wasml model: for every task it
//! predicts the first label of the first choices-like control (`Choices`, `Taxonomy`,
//! `Labels`-free classification), with a fixed score. Useful to check that Label Studio,
//! the host and a model are wired together.

use wasml_guest::{Call, Context, Error, Model, Prediction, Region, Task};

/// Controls whose results are a pick among the control's labels.
const CHOICE_CONTROLS: [&str; 2] = ["Choices", "Taxonomy"];
/// The score of every prediction: a dummy is not confident.
const SCORE: f64 = 0.5;

struct Dummy;

impl Model for Dummy {
    const NAME: &'static str = "Dummy";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str =
        "Predicts the first choice of the first Choices or Taxonomy control for every task.";

    fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let control = call
            .label_config
            .first_control(&CHOICE_CONTROLS)
            .ok_or_else(|| Error::unsupported_config("needs a <Choices> or <Taxonomy> control"))?;
        let (Some(label), Some(to_name)) = (control.labels.first(), control.to_name()) else {
            return Err(Error::unsupported_config(format!(
                "<{} name=\"{}\"> has no labels or no toName",
                control.tag, control.name
            )));
        };
        let region = if control.tag == "Taxonomy" {
            Region::taxonomy(&control.name, to_name, vec![vec![label.value.clone()]])
        } else {
            Region::choices(&control.name, to_name, &[&label.value])
        }
        .with_score(SCORE);
        Ok(tasks
            .iter()
            .map(|_| Prediction::new(vec![region.clone()]).with_score(SCORE))
            .collect())
    }
}

wasml_guest::export!(Dummy);
