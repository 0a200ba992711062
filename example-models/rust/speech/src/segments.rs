//! Speech segments from per-frame probabilities: a port of Silero VAD 6.2.3's
//! `get_speech_timestamps_from_probs` with its defaults (hysteresis between `threshold` and
//! `threshold - 0.15`, segments shorter than the minimum speech dropped, silences shorter than
//! the minimum silence bridged, each segment padded, a padding that would overlap the next
//! segment split between them; a segment longer than the maximum cut at its longest silence).

/// The settings `get_speech_timestamps` takes, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// A frame is speech from this probability.
    pub threshold: f32,
    /// Segments shorter than this are dropped.
    pub min_speech_ms: f64,
    /// Silences shorter than this inside speech do not end it.
    pub min_silence_ms: f64,
    /// Added before and after each segment.
    pub speech_pad_ms: f64,
    /// Longer segments are cut (infinite by default).
    pub max_speech_s: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: 0.5,
            min_speech_ms: 250.0,
            min_silence_ms: 100.0,
            speech_pad_ms: 30.0,
            max_speech_s: f64::INFINITY,
        }
    }
}

/// A speech segment, in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
}

/// Silence shorter than this (98 ms) is not a place to cut an overlong segment.
const MIN_SILENCE_AT_MAX_SPEECH_MS: f64 = 98.0;

/// The segments of audio of `length` samples at `rate` whose `frame`-sample frames have
/// speech probabilities `probabilities`.
pub fn segments(
    probabilities: &[f32],
    rate: u32,
    frame: usize,
    length: usize,
    settings: &Settings,
) -> Vec<Segment> {
    let per_ms = f64::from(rate) / 1000.0;
    let min_speech = settings.min_speech_ms * per_ms;
    let pad = settings.speech_pad_ms * per_ms;
    let max_speech = f64::from(rate) * settings.max_speech_s - frame as f64 - 2.0 * pad;
    let min_silence = settings.min_silence_ms * per_ms;
    let min_silence_at_max = MIN_SILENCE_AT_MAX_SPEECH_MS * per_ms;
    let negative = (settings.threshold - 0.15).max(0.01);

    let mut speeches: Vec<Segment> = Vec::new();
    let mut start: Option<usize> = None;
    let mut temp_end = 0usize;
    let mut possible_ends: Vec<(usize, usize)> = Vec::new();
    for (i, &p) in probabilities.iter().enumerate() {
        let sample = frame * i;
        if p >= settings.threshold && temp_end != 0 {
            let silence = sample - temp_end;
            if silence as f64 > min_silence_at_max {
                possible_ends.push((temp_end, silence));
            }
            temp_end = 0;
        }
        let Some(begin) = start else {
            if p >= settings.threshold {
                start = Some(sample);
            }
            continue;
        };
        if (sample - begin) as f64 > max_speech {
            // Cut at the longest silence seen in this segment, else here.
            // Python's max() keeps the first of equal silences.
            let longest =
                possible_ends
                    .iter()
                    .copied()
                    .fold(None, |best: Option<(usize, usize)>, e| match best {
                        Some(b) if b.1 >= e.1 => Some(b),
                        _ => Some(e),
                    });
            if let Some((end, silence)) = longest {
                speeches.push(Segment { start: begin, end });
                let next = end + silence;
                start = (next < sample + end).then_some(next);
            } else {
                speeches.push(Segment {
                    start: begin,
                    end: sample,
                });
                start = None;
            }
            temp_end = 0;
            possible_ends.clear();
            if start.is_none() {
                continue;
            }
        }
        if p < negative {
            if temp_end == 0 {
                temp_end = sample;
            }
            if ((sample - temp_end) as f64) < min_silence {
                continue;
            }
            let begin = start.unwrap_or(temp_end);
            if (temp_end - begin) as f64 > min_speech {
                speeches.push(Segment {
                    start: begin,
                    end: temp_end,
                });
            }
            start = None;
            temp_end = 0;
            possible_ends.clear();
        }
    }
    if let Some(begin) = start
        && (length.saturating_sub(begin)) as f64 > min_speech
    {
        speeches.push(Segment {
            start: begin,
            end: length,
        });
    }
    pad_segments(&mut speeches, pad, length);
    speeches
}

/// Silero's padding: each segment grows by `pad` on both sides, except that a gap shorter
/// than two paddings is split evenly between its neighbours.
fn pad_segments(speeches: &mut [Segment], pad: f64, length: usize) {
    let pad_floor = pad as usize;
    let count = speeches.len();
    for i in 0..count {
        if i == 0 {
            speeches[0].start = speeches[0].start.saturating_sub(pad_floor);
        }
        if i + 1 < count {
            let gap = speeches[i + 1].start.saturating_sub(speeches[i].end);
            if (gap as f64) < 2.0 * pad {
                speeches[i].end += gap / 2;
                speeches[i + 1].start = speeches[i + 1].start.saturating_sub(gap / 2);
            } else {
                speeches[i].end = (speeches[i].end + pad_floor).min(length);
                speeches[i + 1].start = speeches[i + 1].start.saturating_sub(pad_floor);
            }
        } else {
            speeches[i].end = (speeches[i].end + pad_floor).min(length);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probabilities from a pattern of frames: `#` speech (0.9), `.` silence (0.05), `~` in
    /// between (0.4: neither starts nor ends speech).
    fn frames(pattern: &str) -> Vec<f32> {
        pattern
            .chars()
            .map(|c| match c {
                '#' => 0.9,
                '~' => 0.4,
                _ => 0.05,
            })
            .collect()
    }

    fn run(pattern: &str, settings: &Settings) -> Vec<Segment> {
        let probabilities = frames(pattern);
        segments(
            &probabilities,
            16_000,
            512,
            probabilities.len() * 512,
            settings,
        )
    }

    #[test]
    fn segments_are_padded_and_short_ones_dropped() {
        // 10 speech frames (5120 samples = 320 ms) from frame 5, then silence.
        let found = run(
            &format!("{}{}{}", ".".repeat(5), "#".repeat(10), ".".repeat(10)),
            &Settings::default(),
        );
        // Padded by 30 ms = 480 samples each side.
        assert_eq!(
            found,
            [Segment {
                start: 5 * 512 - 480,
                end: 15 * 512 + 480
            }]
        );
        // 5 frames (160 ms) is under the 250 ms minimum.
        let short = run(
            &format!("..{}{}", "#".repeat(5), ".".repeat(10)),
            &Settings::default(),
        );
        assert!(short.is_empty());
    }

    #[test]
    fn short_silences_are_bridged_and_hysteresis_holds() {
        // Two frames of silence (64 ms) do not split; "~" keeps speech going.
        let bridged = run(
            &format!(
                "{}..{}~~{}{}",
                "#".repeat(10),
                "#".repeat(10),
                "#".repeat(5),
                ".".repeat(10)
            ),
            &Settings::default(),
        );
        assert_eq!(bridged.len(), 1);
        // Ten frames (320 ms) do.
        let split = run(
            &format!(
                "{}{}{}{}",
                "#".repeat(10),
                ".".repeat(10),
                "#".repeat(10),
                ".".repeat(10)
            ),
            &Settings::default(),
        );
        assert_eq!(split.len(), 2);
        assert_eq!(
            split[0],
            Segment {
                start: 0,
                end: 10 * 512 + 480
            }
        );
        assert_eq!(
            split[1],
            Segment {
                start: 20 * 512 - 480,
                end: 30 * 512 + 480
            }
        );
    }

    #[test]
    fn close_segments_share_their_gap_and_speech_runs_to_the_end() {
        let settings = Settings {
            min_silence_ms: 0.0,
            ..Settings::default()
        };
        // A one-frame gap (512 samples) is under two paddings (960): split 256 / 256.
        let found = run(&format!("{}.{}", "#".repeat(10), "#".repeat(10)), &settings);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].end, 10 * 512 + 256);
        assert_eq!(found[1].start, 11 * 512 - 256);
        // The second runs to the end of the audio.
        assert_eq!(found[1].end, 21 * 512);
    }

    #[test]
    fn overlong_segments_are_cut_at_their_longest_silence() {
        let settings = Settings {
            max_speech_s: 1.0,
            min_silence_ms: 1000.0,
            ..Settings::default()
        };
        // 40 frames (1.28 s) of speech with a 4-frame pause at 15..19.
        let pattern = format!("{}....{}{}", "#".repeat(15), "#".repeat(21), ".".repeat(40));
        let found = run(&pattern, &settings);
        assert!(found.len() >= 2, "{found:?}");
        assert_eq!(found[0].end, 15 * 512 + 480);
    }
}
