//! Counting choices and picking the most frequent one, with the tie-breaking every language's
//! build of this model shares.

use std::collections::BTreeMap;

use wasml_guest::serde_json::Value;

/// How often each label was chosen.
#[derive(Debug, Default)]
pub struct Tally {
    /// Label → count. A `BTreeMap` orders labels by code point, the order for labels the
    /// config does not list.
    counts: BTreeMap<String, u64>,
    /// Sum of all counts.
    total: u64,
}

impl Tally {
    /// Counts each of `choices` once.
    pub fn add(&mut self, choices: &[String]) {
        for choice in choices {
            *self.counts.entry(choice.clone()).or_default() += 1;
            self.total += 1;
        }
    }

    /// The most frequent label and its share of all choices, or `None` before any choice.
    /// Ties go to the label listed first in `config_labels`; unlisted labels rank after all
    /// listed ones, in code point order.
    pub fn winner(&self, config_labels: &[&str]) -> Option<(&str, f64)> {
        let listed = config_labels
            .iter()
            .filter_map(|label| self.counts.get_key_value(*label));
        let unlisted = self
            .counts
            .iter()
            .filter(|(label, _)| !config_labels.contains(&label.as_str()));
        let mut best: Option<(&str, u64)> = None;
        for (label, &count) in listed.chain(unlisted) {
            // Strictly greater: an equal count never displaces an earlier-ranked label.
            if best.is_none_or(|(_, top)| count > top) {
                best = Some((label, count));
            }
        }
        best.map(|(label, count)| (label, count as f64 / self.total as f64))
    }
}

/// The choices an annotation made for the control `from_name`: the strings of
/// `value.choices` of each of its `choices` results for that control, in order.
pub fn choices_of(annotation: &Value, from_name: &str) -> Vec<String> {
    let Some(results) = annotation.get("result").and_then(Value::as_array) else {
        return Vec::new();
    };
    results
        .iter()
        .filter(|item| {
            item.get("from_name").and_then(Value::as_str) == Some(from_name)
                && item.get("type").and_then(Value::as_str) == Some("choices")
        })
        .filter_map(|item| item.pointer("/value/choices").and_then(Value::as_array))
        .flatten()
        .filter_map(|choice| choice.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasml_guest::serde_json::json;

    fn tally(choices: &[&[&str]]) -> Tally {
        let mut tally = Tally::default();
        for annotation in choices {
            let owned: Vec<String> = annotation.iter().map(|s| s.to_string()).collect();
            tally.add(&owned);
        }
        tally
    }

    #[test]
    fn the_most_frequent_label_wins_with_its_share() {
        let t = tally(&[&["B"], &["A"], &["B"]]);
        assert_eq!(t.winner(&["A", "B"]), Some(("B", 2.0 / 3.0)));
        assert_eq!(Tally::default().winner(&["A"]), None);
    }

    #[test]
    fn ties_follow_config_order_then_code_points() {
        assert_eq!(
            tally(&[&["B"], &["A"]]).winner(&["B", "A"]).map(|w| w.0),
            Some("B")
        );
        assert_eq!(
            tally(&[&["B"], &["A"]]).winner(&["A", "B"]).map(|w| w.0),
            Some("A")
        );
        // Unlisted labels come after listed ones, even when they sort first.
        assert_eq!(
            tally(&[&["A"], &["Z"]]).winner(&["Z"]).map(|w| w.0),
            Some("Z")
        );
        assert_eq!(tally(&[&["é"], &["e"]]).winner(&[]).map(|w| w.0), Some("e"));
    }

    #[test]
    fn choices_come_from_the_control_s_choices_results_only() {
        let annotation = json!({"id": 1, "result": [
            {"from_name": "sentiment", "to_name": "text", "type": "choices",
             "value": {"choices": ["Positive", 3, "Neutral"]}},
            {"from_name": "other", "to_name": "text", "type": "choices",
             "value": {"choices": ["Negative"]}},
            {"from_name": "sentiment", "to_name": "text", "type": "labels",
             "value": {"choices": ["Negative"]}}
        ]});
        assert_eq!(
            choices_of(&annotation, "sentiment"),
            ["Positive", "Neutral"]
        );
        assert!(choices_of(&json!({"id": 1}), "sentiment").is_empty());
        assert!(choices_of(&json!({"result": "x"}), "sentiment").is_empty());
    }
}
