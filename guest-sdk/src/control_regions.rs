//! Region builders bound to a control of the label config, so that a region's `from_name`
//! and `to_name` come from the config and cannot be mixed up or misspelt.

use serde_json::Value;

use crate::{Control, Error, Region};

/// Builds the regions of one control on one of its objects: every region gets the control's
/// name as `from_name` and the object's as `to_name`. Get one from [`Control::regions`] (the
/// first object) or [`Control::regions_on`]; the `Control` shorthands
/// ([`Control::choices`], [`Control::span`], ...) use the first object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionBuilder<'a> {
    from_name: &'a str,
    to_name: &'a str,
}

impl<'a> RegionBuilder<'a> {
    /// The control's name: the `from_name` of the regions built.
    pub fn from_name(&self) -> &'a str {
        self.from_name
    }

    /// The object's name: the `to_name` of the regions built.
    pub fn to_name(&self) -> &'a str {
        self.to_name
    }

    /// A region of type `kind` with a raw value, for control types without a builder.
    pub fn region(&self, kind: &str, value: Value) -> Region {
        Region::new(self.from_name, self.to_name, kind, value)
    }

    /// A `Choices` region: see [`Region::choices`].
    pub fn choices<S: AsRef<str>>(&self, choices: &[S]) -> Region {
        Region::choices(self.from_name, self.to_name, choices)
    }

    /// A `Labels` text span, offsets in UTF-16 units: see [`Region::labels_span`].
    pub fn span<S: AsRef<str>>(
        &self,
        start: usize,
        end: usize,
        text: &str,
        labels: &[S],
    ) -> Region {
        Region::labels_span(self.from_name, self.to_name, start, end, text, labels)
    }

    /// A `RectangleLabels` box in percent of the image: see [`Region::rectangle`].
    pub fn rectangle<S: AsRef<str>>(&self, bounds: [f64; 4], labels: &[S]) -> Region {
        Region::rectangle(self.from_name, self.to_name, bounds, labels)
    }

    /// A `PolygonLabels` region in percent of the image: see [`Region::polygon`].
    pub fn polygon<S: AsRef<str>>(&self, points: &[[f64; 2]], labels: &[S]) -> Region {
        Region::polygon(self.from_name, self.to_name, points, labels)
    }

    /// A `KeyPointLabels` point in percent of the image: see [`Region::keypoint`].
    pub fn keypoint<S: AsRef<str>>(&self, point: [f64; 2], width: f64, labels: &[S]) -> Region {
        Region::keypoint(self.from_name, self.to_name, point, width, labels)
    }

    /// A `Labels` segment of audio, in seconds: see [`Region::audio_segment`].
    pub fn audio_segment<S: AsRef<str>>(&self, start: f64, end: f64, labels: &[S]) -> Region {
        Region::audio_segment(self.from_name, self.to_name, start, end, labels)
    }

    /// A `TextArea` region: see [`Region::textarea`].
    pub fn textarea<S: AsRef<str>>(&self, texts: &[S]) -> Region {
        Region::textarea(self.from_name, self.to_name, texts)
    }

    /// A `Taxonomy` region: see [`Region::taxonomy`].
    pub fn taxonomy(&self, paths: Vec<Vec<String>>) -> Region {
        Region::taxonomy(self.from_name, self.to_name, paths)
    }

    /// A `Rating` region: see [`Region::rating`].
    pub fn rating(&self, rating: u32) -> Region {
        Region::rating(self.from_name, self.to_name, rating)
    }
}

/// Region shorthands on the control's first object (its first `toName`). Each fails with
/// [`Error::UnsupportedConfig`] when the control has no `toName`, which a control parsed
/// from a label config always has; use [`Control::regions_on`] for another object.
impl Control {
    /// A builder for this control's regions on its first object.
    pub fn regions(&self) -> Result<RegionBuilder<'_>, Error> {
        let to_name = self.to_name().ok_or_else(|| {
            Error::unsupported_config(format!(
                "<{} name=\"{}\"> has no toName",
                self.tag, self.name
            ))
        })?;
        Ok(RegionBuilder {
            from_name: &self.name,
            to_name,
        })
    }

    /// A builder for this control's regions on `object`, which must be one of its `toName`s
    /// (else [`Error::UnsupportedConfig`]): for controls that point at several objects.
    pub fn regions_on(&self, object: &str) -> Result<RegionBuilder<'_>, Error> {
        let to_name = self
            .to_name
            .iter()
            .find(|name| *name == object)
            .ok_or_else(|| {
                Error::unsupported_config(format!(
                    "<{} name=\"{}\"> does not point at an object named \"{object}\"",
                    self.tag, self.name
                ))
            })?;
        Ok(RegionBuilder {
            from_name: &self.name,
            to_name,
        })
    }

    /// A region of type `kind` with a raw value, on the first object.
    pub fn region(&self, kind: &str, value: Value) -> Result<Region, Error> {
        Ok(self.regions()?.region(kind, value))
    }

    /// A `Choices` region on the first object.
    pub fn choices<S: AsRef<str>>(&self, choices: &[S]) -> Result<Region, Error> {
        Ok(self.regions()?.choices(choices))
    }

    /// A `Labels` text span on the first object, offsets in UTF-16 units.
    pub fn span<S: AsRef<str>>(
        &self,
        start: usize,
        end: usize,
        text: &str,
        labels: &[S],
    ) -> Result<Region, Error> {
        Ok(self.regions()?.span(start, end, text, labels))
    }

    /// A `RectangleLabels` box on the first object, in percent of the image.
    pub fn rectangle<S: AsRef<str>>(
        &self,
        bounds: [f64; 4],
        labels: &[S],
    ) -> Result<Region, Error> {
        Ok(self.regions()?.rectangle(bounds, labels))
    }

    /// A `TextArea` region on the first object.
    pub fn textarea<S: AsRef<str>>(&self, texts: &[S]) -> Result<Region, Error> {
        Ok(self.regions()?.textarea(texts))
    }

    /// A `Taxonomy` region on the first object.
    pub fn taxonomy(&self, paths: Vec<Vec<String>>) -> Result<Region, Error> {
        Ok(self.regions()?.taxonomy(paths))
    }

    /// A `Rating` region on the first object.
    pub fn rating(&self, rating: u32) -> Result<Region, Error> {
        Ok(self.regions()?.rating(rating))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn control(to_name: &[&str]) -> Control {
        Control {
            name: "label".into(),
            tag: "Labels".into(),
            to_name: to_name.iter().map(|n| (*n).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn image_and_audio_regions() {
        let control = control(&["image"]);
        let b = control.regions().expect("builder");
        let polygon = b.polygon(&[[1.0, 2.0], [3.0, 4.0], [5.0, 1.0]], &["Car"]);
        assert_eq!(polygon.kind, "polygonlabels");
        assert_eq!(
            polygon.value,
            json!({"points": [[1.0, 2.0], [3.0, 4.0], [5.0, 1.0]], "closed": true, "polygonlabels": ["Car"]})
        );
        let point = b.keypoint([10.0, 20.0], 0.5, &["Eye"]);
        assert_eq!(
            point.value,
            json!({"x": 10.0, "y": 20.0, "width": 0.5, "keypointlabels": ["Eye"]})
        );
        let sized = point.with_original_size(640, 480);
        assert_eq!(sized.extra["original_width"], json!(640));
        assert_eq!(sized.extra["original_height"], json!(480));
        let segment = b.audio_segment(0.25, 1.5, &["Speech"]);
        assert_eq!(
            (segment.kind.as_str(), &segment.value),
            (
                "labels",
                &json!({"start": 0.25, "end": 1.5, "channel": 0, "labels": ["Speech"]})
            )
        );
        let brush = b.brush(&[0, 255, 255, 0], &["Sky"]);
        assert_eq!(brush.kind, "brushlabels");
        assert_eq!(brush.value["format"], "rle");
        assert_eq!(brush.value["brushlabels"], json!(["Sky"]));
        let rle: Vec<u8> = brush.value["rle"]
            .as_array()
            .expect("rle")
            .iter()
            .map(|v| v.as_u64().expect("byte") as u8)
            .collect();
        assert_eq!(rle, crate::brush::mask_to_rle(&[0, 255, 255, 0]));
    }

    #[test]
    fn regions_take_their_names_from_the_control() {
        let control = control(&["text", "title"]);
        let span = control.span(0, 5, "Apple", &["ORG"]).expect("span");
        assert_eq!(
            span,
            Region::labels_span("label", "text", 0, 5, "Apple", &["ORG"])
        );
        let on_title = control.regions_on("title").expect("title");
        assert_eq!(
            (on_title.from_name(), on_title.to_name()),
            ("label", "title")
        );
        assert_eq!(
            on_title.choices(&["A"]),
            Region::choices("label", "title", &["A"])
        );
        assert_eq!(
            control
                .rectangle([1.0, 2.0, 3.0, 4.0], &["Car"])
                .expect("box"),
            Region::rectangle("label", "text", [1.0, 2.0, 3.0, 4.0], &["Car"])
        );
        assert_eq!(control.textarea(&["hi"]).expect("textarea").to_name, "text");
        assert_eq!(
            control.rating(3).expect("rating").value,
            json!({"rating": 3})
        );
        let path = vec![vec!["A".to_owned()]];
        assert_eq!(control.taxonomy(path).expect("taxonomy").kind, "taxonomy");
        let raw = control.region("number", json!({"number": 1})).expect("raw");
        assert_eq!(
            (raw.from_name.as_str(), raw.kind.as_str()),
            ("label", "number")
        );
    }

    #[test]
    fn a_control_without_the_object_builds_nothing() {
        assert!(matches!(
            control(&[]).choices(&["A"]),
            Err(Error::UnsupportedConfig(m)) if m.contains("no toName")
        ));
        assert!(matches!(
            control(&["text"]).regions_on("image"),
            Err(Error::UnsupportedConfig(m)) if m.contains("\"image\"")
        ));
    }
}
