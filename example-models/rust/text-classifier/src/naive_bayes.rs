//! Multinomial naive Bayes over token counts, with Laplace smoothing.
//!
//! The model is nothing but integer counts (documents per class, tokens per class, and each
//! token's count per class), so adding a document and removing it again restores exactly the
//! model that never saw it: no floating-point drift, whatever the order of updates. That is
//! what lets `fit` update the stored model in place on every annotation event.
//!
//! For a document with token counts `n_t`, the score of class `c` is
//!
//! ```text
//! log P(c) + Σ_t n_t · log P(t | c),   P(c) = docs_c / docs,
//! P(t | c) = (count(t, c) + α) / (tokens_c + α · |V|)
//! ```
//!
//! over the tokens `t` of the vocabulary `V`; tokens never seen in training are left out
//! (as scikit-learn's vectorisers do), since they carry no evidence about any class. The
//! posterior is the softmax of the scores, computed with log-sum-exp so that long documents,
//! whose scores are far below `f64`'s smallest positive value once exponentiated, still get
//! probabilities.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// The Laplace (add-one) smoothing constant: an unseen (token, class) pair counts as seen once.
const ALPHA: f64 = 1.0;

/// A trained multinomial naive Bayes classifier; serialisable, to live in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NaiveBayes {
    /// Per class label: its documents and tokens. A class with no documents is removed.
    classes: BTreeMap<String, ClassCounts>,
    /// Per token: its count in each class. Zero counts are removed, so the vocabulary size
    /// is the number of entries.
    tokens: BTreeMap<String, BTreeMap<String, u64>>,
}

/// How much one class has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// Training documents with this label.
    pub documents: u64,
    /// Tokens in those documents, repeats included.
    pub tokens: u64,
}

impl NaiveBayes {
    /// True when the model has seen no document.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Documents seen per class label.
    pub fn classes(&self) -> impl Iterator<Item = (&str, ClassCounts)> {
        self.classes
            .iter()
            .map(|(label, counts)| (label.as_str(), *counts))
    }

    /// The number of distinct tokens seen.
    pub fn vocabulary(&self) -> usize {
        self.tokens.len()
    }

    /// Learns one document with tokens `tokens` and class `label`.
    pub fn add(&mut self, tokens: &[String], label: &str) {
        let class = self.classes.entry(label.to_owned()).or_default();
        class.documents += 1;
        class.tokens += tokens.len() as u64;
        for token in tokens {
            *self
                .tokens
                .entry(token.clone())
                .or_default()
                .entry(label.to_owned())
                .or_default() += 1;
        }
    }

    /// Forgets one document previously added with the same `tokens` and `label`.
    ///
    /// Counts saturate at zero instead of underflowing, so forgetting a document that was
    /// never added cannot corrupt the model into nonsense (it only loses counts).
    pub fn remove(&mut self, tokens: &[String], label: &str) {
        if let Some(class) = self.classes.get_mut(label) {
            class.documents = class.documents.saturating_sub(1);
            class.tokens = class.tokens.saturating_sub(tokens.len() as u64);
            if class.documents == 0 {
                self.classes.remove(label);
            }
        }
        for token in tokens {
            let Some(per_class) = self.tokens.get_mut(token) else {
                continue;
            };
            if let Some(count) = per_class.get_mut(label) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    per_class.remove(label);
                }
            }
            if per_class.is_empty() {
                self.tokens.remove(token);
            }
        }
    }

    /// The posterior probability of every class for a document with `tokens`, most likely
    /// first (ties by label, so the order is deterministic). Empty when the model is.
    pub fn posterior(&self, tokens: &[String]) -> Vec<(String, f64)> {
        self.posterior_among(tokens, |_| true)
    }

    /// Like [`NaiveBayes::posterior`], over the classes `allowed` accepts only: the posterior
    /// given that the answer is one of them. Empty when none is allowed.
    pub fn posterior_among(
        &self,
        tokens: &[String],
        allowed: impl Fn(&str) -> bool,
    ) -> Vec<(String, f64)> {
        let classes: Vec<(&String, &ClassCounts)> = self
            .classes
            .iter()
            .filter(|(label, _)| allowed(label))
            .collect();
        let documents: u64 = classes.iter().map(|(_, c)| c.documents).sum();
        if documents == 0 {
            return Vec::new();
        }
        let vocabulary = self.tokens.len() as f64;
        // Term frequencies of the known tokens: each distinct token is looked up once.
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for token in tokens {
            if self.tokens.contains_key(token) {
                *counts.entry(token).or_default() += 1;
            }
        }
        let scores: Vec<f64> = classes
            .iter()
            .map(|(label, class)| {
                let mut score = (class.documents as f64 / documents as f64).ln();
                let denominator = (class.tokens as f64 + ALPHA * vocabulary).ln();
                for (token, n) in &counts {
                    let seen = self
                        .tokens
                        .get(*token)
                        .and_then(|per_class| per_class.get(label.as_str()))
                        .copied()
                        .unwrap_or(0);
                    score += *n as f64 * ((seen as f64 + ALPHA).ln() - denominator);
                }
                score
            })
            .collect();
        let normaliser = log_sum_exp(&scores);
        let mut posterior: Vec<(String, f64)> = classes
            .iter()
            .zip(&scores)
            .map(|((label, _), score)| ((*label).clone(), (score - normaliser).exp()))
            .collect();
        posterior.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        posterior
    }

    /// The most likely class for `tokens` and its probability; `None` for an empty model.
    pub fn predict(&self, tokens: &[String]) -> Option<(String, f64)> {
        self.posterior(tokens).into_iter().next()
    }
}

/// `ln Σ exp(x)`, without overflow or underflow: shifted by the maximum, the largest term is
/// exactly `exp(0) = 1`. `-inf` for no terms.
fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tokenize;
    use wasml_guest::serde_json;

    fn train(examples: &[(&str, &str)]) -> NaiveBayes {
        let mut model = NaiveBayes::default();
        for (text, label) in examples {
            model.add(&tokenize(text), label);
        }
        model
    }

    fn label_of(model: &NaiveBayes, text: &str) -> String {
        model
            .predict(&tokenize(text))
            .map(|(label, _)| label)
            .unwrap_or_default()
    }

    const SEPARABLE: [(&str, &str); 6] = [
        ("the team won the match with a late goal", "sports"),
        ("the striker scored twice in the final", "sports"),
        ("fans cheered as the team lifted the cup", "sports"),
        ("the new phone has a faster processor", "tech"),
        ("install the software update on your laptop", "tech"),
        ("the processor and memory of this laptop", "tech"),
    ];

    #[test]
    fn separable_data_is_classified_correctly() {
        let model = train(&SEPARABLE);
        assert_eq!(label_of(&model, "a goal in the final match"), "sports");
        assert_eq!(label_of(&model, "laptop software and memory"), "tech");
        // Training documents themselves are recovered.
        for (text, label) in SEPARABLE {
            assert_eq!(label_of(&model, text), label, "{text}");
        }
    }

    #[test]
    fn probabilities_sum_to_one_and_are_sorted() {
        let mut model = train(&SEPARABLE);
        model.add(&tokenize("a recipe for tomato soup"), "food");
        for text in ["goal", "laptop", "soup", "nothing known here", ""] {
            let posterior = model.posterior(&tokenize(text));
            assert_eq!(posterior.len(), 3, "{text}");
            let total: f64 = posterior.iter().map(|(_, p)| p).sum();
            assert!((total - 1.0).abs() < 1e-12, "{text}: {total}");
            assert!(posterior.windows(2).all(|w| w[0].1 >= w[1].1));
            assert!(posterior.iter().all(|(_, p)| (0.0..=1.0).contains(p)));
        }
    }

    #[test]
    fn matches_a_hand_computed_posterior() {
        // Vocabulary {a, b}; class x: "a a" (2 tokens), class y: "b" (1 token).
        let mut model = NaiveBayes::default();
        model.add(&["a".into(), "a".into()], "x");
        model.add(&["b".into()], "y");
        // Document "a": P(x) = P(y) = 1/2; P(a|x) = (2+1)/(2+2) = 3/4; P(a|y) = (0+1)/(1+2) = 1/3.
        let (x, y) = (0.5 * 0.75, 0.5 / 3.0);
        let posterior = model.posterior(&["a".into()]);
        assert_eq!(posterior[0].0, "x");
        assert!((posterior[0].1 - x / (x + y)).abs() < 1e-12);
        assert!((posterior[1].1 - y / (x + y)).abs() < 1e-12);
        // Unknown tokens carry no evidence: the prior alone.
        let prior = model.posterior(&["zzz".into()]);
        assert!((prior[0].1 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn long_documents_do_not_underflow() {
        let model = train(&SEPARABLE);
        // Thousands of tokens push every class score far below exp's range; log-sum-exp
        // still normalises.
        let long = "goal laptop ".repeat(2000) + "goal";
        let posterior = model.posterior(&tokenize(&long));
        let total: f64 = posterior.iter().map(|(_, p)| p).sum();
        assert!(posterior.iter().all(|(_, p)| p.is_finite()));
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn removing_a_document_removes_its_influence() {
        let base = train(&SEPARABLE);
        let mut model = base.clone();
        let tokens = tokenize("the goal phone processor cup");
        model.add(&tokens, "tech");
        assert_ne!(model, base);
        model.remove(&tokens, "tech");
        assert_eq!(model, base, "add then remove restores the model exactly");
        // Removing the only document of a class removes the class.
        let mut model = base.clone();
        let tokens = tokenize("soup");
        model.add(&tokens, "food");
        model.remove(&tokens, "food");
        assert_eq!(model, base);
        assert_eq!(model.classes().count(), 2);
        // And removing everything gives the empty model.
        let mut model = base;
        for (text, label) in SEPARABLE {
            model.remove(&tokenize(text), label);
        }
        assert!(model.is_empty());
        assert_eq!(model, NaiveBayes::default());
        assert!(model.predict(&tokenize("goal")).is_none());
    }

    #[test]
    fn removing_unknown_documents_saturates() {
        let mut model = NaiveBayes::default();
        model.remove(&tokenize("never added"), "x");
        assert!(model.is_empty());
        model.add(&tokenize("one"), "x");
        model.remove(&tokenize("one two three"), "x");
        assert!(model.is_empty());
        assert_eq!(model.vocabulary(), 0);
    }

    #[test]
    fn a_single_class_gets_probability_one() {
        let model = train(&[("only one label here", "solo")]);
        assert_eq!(
            model.predict(&tokenize("anything at all")),
            Some(("solo".into(), 1.0))
        );
    }

    #[test]
    fn posterior_among_restricts_and_renormalises() {
        let mut model = train(&SEPARABLE);
        model.add(&tokenize("a recipe for tomato soup"), "food");
        let tokens = tokenize("goal soup");
        let posterior = model.posterior_among(&tokens, |label| label != "sports");
        assert_eq!(posterior.len(), 2);
        assert_eq!(posterior[0].0, "food");
        let total: f64 = posterior.iter().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(model.posterior_among(&tokens, |_| false).is_empty());
    }

    #[test]
    fn unicode_texts_are_learned() {
        let model = train(&[
            ("Die Mannschaft gewann das Fußballspiel", "sports"),
            ("Das neue Smartphone hat einen schnellen Prozessor", "tech"),
            ("日本代表のサッカー選手が試合で得点した", "sports"),
            ("新しいスマートフォンのソフトウェアを更新した", "tech"),
        ]);
        assert_eq!(label_of(&model, "サッカーの試合"), "sports");
        assert_eq!(label_of(&model, "ソフトウェアの更新"), "tech");
        assert_eq!(label_of(&model, "die mannschaft"), "sports");
        assert_eq!(label_of(&model, "schnellen Prozessor"), "tech");
    }

    #[test]
    fn round_trips_through_json() {
        let model = train(&SEPARABLE);
        let json = serde_json::to_string(&model).expect("serialise");
        let back: NaiveBayes = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, model);
    }

    #[derive(serde::Deserialize)]
    struct Labelled {
        text: String,
        label: String,
    }

    fn dataset(json: &str) -> Vec<Labelled> {
        serde_json::from_str(json).expect("data set")
    }

    /// The host integration tests' data set: held-out accuracy must be far above chance.
    #[test]
    fn held_out_accuracy_on_the_test_data_set() {
        let train_set = dataset(include_str!(
            "../../../../tests/data/text-classifier/train.json"
        ));
        let held_out = dataset(include_str!(
            "../../../../tests/data/text-classifier/heldout.json"
        ));
        let mut model = NaiveBayes::default();
        for item in &train_set {
            model.add(&tokenize(&item.text), &item.label);
        }
        let labels: std::collections::BTreeSet<&str> =
            train_set.iter().map(|i| i.label.as_str()).collect();
        let mut wrong = Vec::new();
        for item in &held_out {
            let predicted = label_of(&model, &item.text);
            if predicted != item.label {
                wrong.push(format!("{:?}: {predicted} != {}", item.text, item.label));
            }
        }
        let accuracy = 1.0 - wrong.len() as f64 / held_out.len() as f64;
        let chance = 1.0 / labels.len() as f64;
        assert!(
            accuracy >= 0.85 && accuracy > 2.0 * chance,
            "accuracy {accuracy:.2} (chance {chance:.2}); misclassified: {wrong:#?}"
        );
    }
}
