//! The Label Studio side: find the `<Labels>` on an `<Audio>`, read each task's recording
//! through the host's task data, find its speech with Silero VAD on the host, answer one
//! labelled segment per stretch of speech.

use wasml_guest::audio;
use wasml_guest::nn::Graph;
use wasml_guest::serde_json::Value;
use wasml_guest::{Call, Context, Control, Error, Model, Prediction, Task};

use crate::segments::{Settings, segments};
use crate::vad::{FRAME, HostVad, SAMPLE_RATE, probabilities};

/// The graph's name in the manifest (`[nn.graphs]`).
const GRAPH: &str = "vad";

/// The model.
pub struct Speech;

impl Model for Speech {
    const NAME: &'static str = "speech";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Voice activity detection with Silero VAD on the host's \
        ONNX Runtime: one labelled segment per stretch of speech in an <Audio>.";

    fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let (control, key, label) = find_control(call)?;
        let settings = settings(call)?;
        let mut vad = HostVad(Graph::named(GRAPH)?);
        let mut predictions = Vec::with_capacity(tasks.len());
        for task in tasks {
            let fetched = task.fetch(&key)?;
            let decoded = audio::decode(&fetched.bytes)
                .map_err(|e| Error::invalid_input(format!("data.{key}: {e}")))?;
            let mono = decoded.to_mono_at(SAMPLE_RATE);
            let frames = probabilities(&mono, &mut vad)?;
            let found = segments(&frames, SAMPLE_RATE, FRAME, mono.len(), &settings);
            let builder = control.regions()?;
            let seconds =
                |sample: usize| (sample as f64 / f64::from(SAMPLE_RATE) * 1000.0).round() / 1000.0;
            let result: Vec<_> = found
                .iter()
                .map(|s| {
                    // The mean probability of the segment's frames is its score.
                    let first = s.start / FRAME;
                    let last = s.end.div_ceil(FRAME).min(frames.len()).max(first + 1);
                    let probabilities = &frames[first.min(frames.len() - 1)..last];
                    let score = probabilities.iter().map(|&p| f64::from(p)).sum::<f64>()
                        / probabilities.len() as f64;
                    builder
                        .audio_segment(seconds(s.start), seconds(s.end), &[label.as_str()])
                        .with_score(score)
                })
                .collect();
            predictions.push(if result.is_empty() {
                Prediction::empty()
            } else {
                let score =
                    result.iter().filter_map(|r| r.score).sum::<f64>() / result.len() as f64;
                Prediction::new(result).with_score(score)
            });
        }
        Ok(predictions)
    }
}

/// The first `<Labels>` on an `<Audio>`, the audio's data key, and the label for speech: one
/// naming `speech` in `predicted_values` (or whose value is `speech`, in any case), else the
/// first.
fn find_control(call: &Call) -> Result<(&Control, String, String), Error> {
    call.label_config
        .controls
        .iter()
        .filter(|c| c.tag == "Labels")
        .find_map(|control| {
            let input = control
                .inputs
                .iter()
                .find(|i| i.tag == "Audio" || i.tag == "AudioPlus")?;
            // The host gives the data key without its `$`.
            let key = input.value.clone()?;
            let label = match control.label_map().label("speech") {
                Some(label) => label.to_string(),
                None => control.labels.first()?.value.clone(),
            };
            Some((control, key, label))
        })
        .ok_or_else(|| {
            Error::unsupported_config(
                "speech needs a <Labels> with at least one label on an <Audio value=\"$key\">",
            )
        })
}

/// `get_speech_timestamps`' settings, each overridable by the same name in `extra_params`:
/// `threshold`, `min_speech_duration_ms`, `min_silence_duration_ms`, `speech_pad_ms`,
/// `max_speech_duration_s`.
fn settings(call: &Call) -> Result<Settings, Error> {
    let mut settings = Settings::default();
    let Some(params) = &call.extra_params else {
        return Ok(settings);
    };
    let number = |key: &str, low: f64, high: f64| -> Result<Option<f64>, Error> {
        let value = match &params[key] {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match value {
            Some(v) if (low..=high).contains(&v) => Ok(Some(v)),
            _ => Err(Error::unsupported_config(format!(
                "extra_params.{key} must be a number from {low} to {high}, not {}",
                params[key]
            ))),
        }
    };
    if let Some(v) = number("threshold", 0.0, 1.0)? {
        settings.threshold = v as f32;
    }
    if let Some(v) = number("min_speech_duration_ms", 0.0, 1e7)? {
        settings.min_speech_ms = v;
    }
    if let Some(v) = number("min_silence_duration_ms", 0.0, 1e7)? {
        settings.min_silence_ms = v;
    }
    if let Some(v) = number("speech_pad_ms", 0.0, 1e5)? {
        settings.speech_pad_ms = v;
    }
    if let Some(v) = number("max_speech_duration_s", 0.1, f64::INFINITY)? {
        settings.max_speech_s = v;
    }
    Ok(settings)
}

wasml_guest::export!(Speech);

#[cfg(test)]
mod tests {
    use wasml_guest::nn::Tensor;
    use wasml_guest::serde_json::json;
    use wasml_guest::testing::{graph, serve};

    use super::*;

    const CONFIG: &str = r#"<View><Audio name="audio" value="$audio"/>
        <Labels name="label" toName="audio">
          <Label value="Noise"/><Label value="Voice" predicted_values="speech"/>
        </Labels></View>"#;

    /// A mono 16-bit WAV at `rate`.
    fn wav(rate: u32, samples: &[f32]) -> Vec<u8> {
        let data: Vec<u8> = samples
            .iter()
            .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
            .collect();
        let mut out = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        out.extend(rate.to_le_bytes());
        out.extend((rate * 2).to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(16u16.to_le_bytes());
        out.extend(b"data");
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn the_label_and_settings_come_from_the_config() -> Result<(), Error> {
        let call = Call::from_xml(CONFIG)?;
        let (control, key, label) = find_control(&call)?;
        assert_eq!(
            (control.name.as_str(), key.as_str(), label.as_str()),
            ("label", "audio", "Voice")
        );
        let first = Call::from_xml(
            r#"<View><Audio name="a" value="$rec"/><Labels name="l" toName="a">
                <Label value="Talk"/><Label value="Music"/></Labels></View>"#,
        )?;
        assert_eq!(find_control(&first)?.2, "Talk");
        let tuned = call
            .clone()
            .with_extra_params(json!({"threshold": 0.6, "speech_pad_ms": "10"}));
        let s = settings(&tuned)?;
        assert_eq!(
            (s.threshold, s.speech_pad_ms, s.min_speech_ms),
            (0.6, 10.0, 250.0)
        );
        let wrong = call.with_extra_params(json!({"threshold": "loud"}));
        assert!(matches!(settings(&wrong), Err(Error::UnsupportedConfig(_))));
        Ok(())
    }

    #[test]
    fn loud_stretches_of_a_resampled_recording_become_segments() -> Result<(), Error> {
        // A stand-in VAD: speech where the frame is loud; it checks the inputs' shapes.
        graph(GRAPH, |inputs| {
            let input = inputs
                .iter()
                .find(|(n, _)| n == "input")
                .map(|(_, t)| t.to_f32());
            let input = input.ok_or("no input")?.map_err(|e| e.to_string())?;
            assert_eq!(input.len(), 576);
            let sr = inputs.iter().find(|(n, _)| n == "sr").ok_or("no sr")?;
            assert!(sr.1.dims.is_empty());
            let level = input[64..].iter().map(|v| v.abs()).sum::<f32>() / 512.0;
            let p = if level > 0.1 { 0.95 } else { 0.02 };
            Ok(vec![
                ("output".into(), Tensor::f32(&[1, 1], &[p])),
                ("stateN".into(), Tensor::f32(&[2, 1, 128], &[0.0; 256])),
            ])
        });
        // 8 kHz: 0.5 s silence, 1 s of a loud tone, 1 s silence, 0.5 s tone, 0.5 s silence.
        let rate = 8000;
        let tone = |n: usize| {
            (0..n)
                .map(|i| (i as f32 * 0.3).sin() * 0.8)
                .collect::<Vec<_>>()
        };
        let mut samples = vec![0.0; 4000];
        samples.extend(tone(8000));
        samples.extend(vec![0.0; 8000]);
        samples.extend(tone(4000));
        samples.extend(vec![0.0; 4000]);
        serve(
            "s3://bucket/talk.wav",
            &wav(rate, &samples),
            Some("audio/wav"),
        );
        let call = Call::from_xml(CONFIG)?;
        let tasks = [Task::from_json(
            json!({"id": 3, "data": {"audio": "s3://bucket/talk.wav"}}),
        )?];
        let prediction = &Speech::predict(&call, &tasks, None)?[0];
        let spans: Vec<(f64, f64)> = prediction
            .result
            .iter()
            .map(|r| {
                (
                    r.value["start"].as_f64().unwrap_or(-1.0),
                    r.value["end"].as_f64().unwrap_or(-1.0),
                )
            })
            .collect();
        assert_eq!(spans.len(), 2, "{spans:?}");
        let close = |got: f64, want: f64| (got - want).abs() < 0.1;
        assert!(
            close(spans[0].0, 0.5) && close(spans[0].1, 1.5),
            "{spans:?}"
        );
        assert!(
            close(spans[1].0, 2.5) && close(spans[1].1, 3.0),
            "{spans:?}"
        );
        assert_eq!(prediction.result[0].value["labels"], json!(["Voice"]));
        assert_eq!(prediction.result[0].kind, "labels");
        // Not audio: the client's error.
        serve("s3://bucket/talk.wav", b"RIFF....WAVEjunk", None);
        assert!(matches!(
            Speech::predict(&call, &tasks, None),
            Err(Error::InvalidInput(_))
        ));
        Ok(())
    }
}
