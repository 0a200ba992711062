//! The "simplest ML backend" of Label Studio's guides, as a wasml model: for every task it
//! predicts the first label of the first choices-like control (`Choices`, `Taxonomy`,
//! `Labels`-free classification), with a fixed score. Useful to check that Label Studio,
//! the host and a model are wired together.

use wasml_guest::{Call, Context, Error, Model, Prediction, Task};

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
        let Some(label) = control.labels.first() else {
            return Err(Error::unsupported_config(format!(
                "<{} name=\"{}\"> has no labels",
                control.tag, control.name
            )));
        };
        let region = if control.tag == "Taxonomy" {
            control.taxonomy(vec![vec![label.value.clone()]])?
        } else {
            control.choices(&[&label.value])?
        }
        .with_score(SCORE);
        Ok(tasks
            .iter()
            .map(|_| Prediction::new(vec![region.clone()]).with_score(SCORE))
            .collect())
    }
}

wasml_guest::export!(Dummy);

#[cfg(test)]
mod tests {
    use wasml_guest::Region;
    use wasml_guest::serde_json::json;

    use super::*;

    fn tasks(count: i64) -> Vec<Task> {
        (1..=count)
            .map(|id| Task::from_json(json!({"id": id, "data": {"text": "t"}})).expect("task"))
            .collect()
    }

    #[test]
    fn predicts_the_first_choice_for_every_task() -> Result<(), Error> {
        let call = Call::from_xml(
            r#"<View><Image name="img" value="$image"/><Text name="text" value="$text"/>
                 <RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels>
                 <Choices name="sentiment" toName="text">
                   <Choice value="Positive"/><Choice value="Negative"/>
                 </Choices></View>"#,
        )?;
        let predictions = Dummy::predict(&call, &tasks(3), None)?;
        assert_eq!(predictions.len(), 3, "one per task");
        let expected = Region::choices("sentiment", "text", &["Positive"]).with_score(SCORE);
        for prediction in predictions {
            assert_eq!(
                prediction,
                Prediction::new(vec![expected.clone()]).with_score(SCORE)
            );
        }
        assert!(Dummy::predict(&call, &[], None)?.is_empty());
        Ok(())
    }

    #[test]
    fn a_taxonomy_gets_a_path() -> Result<(), Error> {
        let call = Call::from_xml(
            r#"<View><Text name="text" value="$text"/>
                 <Taxonomy name="tax" toName="text">
                   <Choice value="Animal"><Choice value="Cat"/></Choice>
                 </Taxonomy></View>"#,
        )?;
        let prediction = &Dummy::predict(&call, &tasks(1), None)?[0];
        assert_eq!(
            prediction.result,
            [Region::taxonomy("tax", "text", vec![vec!["Animal".into()]]).with_score(SCORE)]
        );
        Ok(())
    }

    #[test]
    fn configs_without_choices_are_unsupported() -> Result<(), Error> {
        for xml in [
            r#"<View><Text name="text" value="$text"/><Labels name="l" toName="text"/></View>"#,
            r#"<View><Text name="text" value="$text"/><Choices name="c" toName="text"/></View>"#,
        ] {
            let result = Dummy::predict(&Call::from_xml(xml)?, &tasks(1), None);
            assert!(matches!(result, Err(Error::UnsupportedConfig(_))), "{xml}");
        }
        Ok(())
    }
}
