//! The pipeline's settings, with rapidocr 1.4.4's defaults (`config.yaml`).

/// How the detector's input size is limited (rapidocr's `Det.limit_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitType {
    /// Scale the image so that its shorter side is at least `det_limit_side_len` (the default).
    Min,
    /// Scale the image so that its longer side is at most 960, 1500 or 2000, chosen by the
    /// longer side itself (below 960, below 1500, otherwise). rapidocr ignores
    /// `det_limit_side_len` in this mode, and so does this port.
    Max,
}

/// How a candidate text region is scored against the detector's probability map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreMode {
    /// The mean probability inside the region's minimum-area rectangle (the default).
    Fast,
    /// The mean probability inside the region's contour polygon.
    Slow,
}

/// The pipeline's settings. `Options::default()` is rapidocr 1.4.4's `config.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Lines whose recognition score is below this are dropped (`Global.text_score`).
    pub text_score: f64,
    /// Whether to classify each line's direction and turn upside-down lines (`Global.use_cls`).
    pub use_cls: bool,
    /// An image at most this high is padded above and below before detection, because the
    /// detector misses text that fills a very flat image (`Global.min_height`).
    pub min_height: usize,
    /// An image wider than this many times its height is padded likewise; `None` disables the
    /// rule (rapidocr's `-1`) (`Global.width_height_ratio`).
    pub width_height_ratio: Option<f64>,
    /// A longer side above this is scaled down first (`Global.max_side_len`).
    pub max_side_len: usize,
    /// A shorter side below this is scaled up first (`Global.min_side_len`).
    pub min_side_len: usize,
    /// The side length the detector's input is scaled to (`Det.limit_side_len`).
    pub det_limit_side_len: usize,
    /// Which side `det_limit_side_len` limits (`Det.limit_type`).
    pub det_limit_type: LimitType,
    /// The probability above which a pixel counts as text (`Det.thresh`).
    pub det_thresh: f64,
    /// A region whose score is below this is dropped (`Det.box_thresh`).
    pub det_box_thresh: f64,
    /// At most this many regions are considered (`Det.max_candidates`).
    pub det_max_candidates: usize,
    /// How far a region is grown: by area × ratio / perimeter (`Det.unclip_ratio`).
    pub det_unclip_ratio: f64,
    /// Whether the text mask is dilated by a 2×2 kernel first (`Det.use_dilation`).
    pub det_use_dilation: bool,
    /// How regions are scored (`Det.score_mode`).
    pub det_score_mode: ScoreMode,
    /// The classifier's input: channels, height, width (`Cls.cls_image_shape`).
    pub cls_image_shape: [usize; 3],
    /// How many lines the classifier sees at once (`Cls.cls_batch_num`).
    pub cls_batch_num: usize,
    /// A line is turned only when the classifier is surer than this (`Cls.cls_thresh`).
    pub cls_thresh: f64,
    /// The classifier's labels, by output index; a line is turned 180° when its label
    /// contains "180" (`Cls.label_list`).
    pub cls_label_list: Vec<String>,
    /// The recogniser's input: channels, height, minimum width (`Rec.rec_img_shape`).
    pub rec_image_shape: [usize; 3],
    /// How many lines the recogniser sees at once (`Rec.rec_batch_num`).
    pub rec_batch_num: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            text_score: 0.5,
            use_cls: true,
            min_height: 30,
            width_height_ratio: Some(8.0),
            max_side_len: 2000,
            min_side_len: 30,
            det_limit_side_len: 736,
            det_limit_type: LimitType::Min,
            det_thresh: 0.3,
            det_box_thresh: 0.5,
            det_max_candidates: 1000,
            det_unclip_ratio: 1.6,
            det_use_dilation: true,
            det_score_mode: ScoreMode::Fast,
            cls_image_shape: [3, 48, 192],
            cls_batch_num: 6,
            cls_thresh: 0.9,
            cls_label_list: vec!["0".to_string(), "180".to_string()],
            rec_image_shape: [3, 48, 320],
            rec_batch_num: 6,
        }
    }
}

impl Options {
    /// Rejects settings the pipeline cannot run with (rather than failing deep inside it).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.cls_image_shape[0] != 3 || self.rec_image_shape[0] != 3 {
            return Err("the classifier and recogniser inputs must have 3 channels".to_string());
        }
        let sizes = [
            self.cls_image_shape[1],
            self.cls_image_shape[2],
            self.rec_image_shape[1],
            self.rec_image_shape[2],
            self.cls_batch_num,
            self.rec_batch_num,
            self.max_side_len,
            self.min_side_len,
            self.det_limit_side_len,
        ];
        if sizes.contains(&0) {
            return Err("image shapes, batch sizes and side lengths must be positive".to_string());
        }
        if self.cls_label_list.is_empty() {
            return Err("the classifier needs at least one label".to_string());
        }
        Ok(())
    }
}
