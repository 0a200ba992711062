//! The `speech` example model, end to end over HTTP: phrases synthesised with espeak-ng with
//! known pauses between them (`tests/data/audio/speak.py`), written as WAV of every PCM width
//! and float, at several rates, mono and stereo, and as FLAC, Ogg/Vorbis and MP3, served by a
//! stand-in Label Studio as uploads, read through the host's task data, run with the real
//! Silero VAD graph on the host's ONNX Runtime. Segments are checked against where each
//! phrase's sound begins and ends.

use std::collections::HashMap;

use serde_json::{Value, json};
use wasml_tests::uploads::{generate, host_with, label_studio, setup_with_params};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

/// Label Studio's voice activity template (Audio/Speech Processing > Voice Activity
/// Detection), with the speech label named by predicted_values.
const TEMPLATE: &str = r##"<View>
  <Labels name="label" toName="audio" zoom="true" hotkey="ctrl+enter">
    <Label value="Noise" background="#cccccc"/>
    <Label value="Voice" background="#ff0000" predicted_values="speech"/>
  </Labels>
  <Audio name="audio" value="$audio"/>
</View>"##;

/// How far a segment's edge may lie from where the phrase's sound begins or ends: Silero pads
/// segments by 30 ms, its frames are 32 ms, and an MP3 decoder adds its delay.
const TOLERANCE_S: f64 = 0.3;

struct Recording {
    name: String,
    bytes: Vec<u8>,
    truth: Vec<[f64; 2]>,
    duration: f64,
}

fn speak(dir: &std::path::Path, name: &str, spec: Value) -> Recording {
    let path = dir.join(name);
    let mut spec = spec;
    spec["path"] = json!(path);
    spec["phrases"] = json!([
        "The quick brown fox jumps over the lazy dog.",
        "Label Studio sends this recording to the model.",
        "Thank you, goodbye.",
    ]);
    spec["gaps"] = json!([0.9, 1.3, 1.0, 0.8]);
    let spoken = generate("audio/speak.py", &spec);
    Recording {
        name: name.to_owned(),
        bytes: std::fs::read(&path).expect("recording"),
        truth: serde_json::from_value(spoken["segments"].clone()).expect("segments"),
        duration: spoken["duration"].as_f64().expect("duration"),
    }
}

#[test]
fn speech_segments_follow_the_phrases_in_every_format() {
    let dir = tempfile::tempdir().expect("dir");
    let formats = [
        (
            "pcm16.wav",
            json!({"format": "WAV", "subtype": "PCM_16", "rate": 16000, "channels": 1}),
        ),
        (
            "pcm24.wav",
            json!({"format": "WAV", "subtype": "PCM_24", "rate": 44100, "channels": 2}),
        ),
        (
            "pcm32.wav",
            json!({"format": "WAV", "subtype": "PCM_32", "rate": 22050, "channels": 1}),
        ),
        (
            "u8.wav",
            json!({"format": "WAV", "subtype": "PCM_U8", "rate": 8000, "channels": 1}),
        ),
        (
            "float.wav",
            json!({"format": "WAV", "subtype": "FLOAT", "rate": 48000, "channels": 2}),
        ),
        (
            "double.wav",
            json!({"format": "WAV", "subtype": "DOUBLE", "rate": 32000, "channels": 1}),
        ),
        (
            "talk.flac",
            json!({"format": "FLAC", "subtype": "PCM_16", "rate": 44100, "channels": 2}),
        ),
        (
            "talk.ogg",
            json!({"format": "OGG", "subtype": "VORBIS", "rate": 44100, "channels": 1}),
        ),
        (
            "talk.mp3",
            json!({"format": "MP3", "subtype": "MPEG_LAYER_III", "rate": 44100, "channels": 2}),
        ),
    ];
    let recordings: Vec<Recording> = formats
        .into_iter()
        .enumerate()
        .map(|(seed, (name, mut spec))| {
            spec["seed"] = json!(seed);
            speak(dir.path(), name, spec)
        })
        .collect();
    let files: HashMap<String, (Vec<u8>, &'static str)> = recordings
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                (r.bytes.clone(), "application/octet-stream"),
            )
        })
        .collect();
    let ls = label_studio(files);
    let host = host_with(BIN, &ls, &["speech"], &["speech"]);

    let tasks: Vec<Value> = recordings
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"id": i + 1, "data": {"audio": format!("/data/upload/1/{}", r.name)}}))
        .collect();
    let body = json!({"tasks": tasks, "label_config": TEMPLATE, "project": "1"});
    let reply = host.post_json("/models/speech/predict", &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["results"].as_array().expect("results");
    for (recording, result) in recordings.iter().zip(results) {
        let segments = result["result"].as_array().expect("segments");
        assert_eq!(
            segments.len(),
            recording.truth.len(),
            "{}: {result}",
            recording.name
        );
        for (segment, [start, end]) in segments.iter().zip(&recording.truth) {
            assert_eq!(segment["type"], "labels");
            assert_eq!(
                (segment["from_name"].as_str(), segment["to_name"].as_str()),
                (Some("label"), Some("audio"))
            );
            let value = &segment["value"];
            assert_eq!(value["labels"], json!(["Voice"]), "{segment}");
            assert_eq!(value["channel"], 0);
            let got = [
                value["start"].as_f64().expect("start"),
                value["end"].as_f64().expect("end"),
            ];
            assert!(
                (got[0] - start).abs() <= TOLERANCE_S && (got[1] - end).abs() <= TOLERANCE_S,
                "{}: segment {got:?} for the phrase at [{start}, {end}]",
                recording.name
            );
            assert!(
                got[1] <= recording.duration + 1e-3,
                "{}: {got:?}",
                recording.name
            );
            let score = segment["score"].as_f64().expect("score");
            assert!((0.5..=1.0).contains(&score), "{segment}");
        }
    }

    // Silero's settings come from extra_params: a minimum speech longer than every phrase
    // leaves nothing; a bad value is the config's error.
    let mut tuned = body.clone();
    tuned["tasks"] = json!([tasks[0]]);
    setup_with_params(
        &host,
        "speech",
        1,
        TEMPLATE,
        &json!({"min_speech_duration_ms": 5000}),
    );
    let reply = host.post_json("/models/speech/predict", &tuned);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["results"][0]["result"],
        json!([]),
        "{}",
        reply.body
    );
    setup_with_params(&host, "speech", 1, TEMPLATE, &json!({"threshold": "loud"}));
    let reply = host.post_json("/models/speech/predict", &tuned);
    assert_eq!(reply.status, 422, "{}", reply.body);
    let detail = reply.body["detail"].as_str().unwrap_or("");
    assert!(detail.contains("threshold"), "{}", reply.body);
}

#[test]
fn speech_refuses_what_is_not_audio_and_configs_without_audio_labels() {
    let ls = label_studio(HashMap::from([
        (
            "notes.txt".to_owned(),
            (b"RIFF not really audio".to_vec(), "audio/wav"),
        ),
        ("empty.wav".to_owned(), (Vec::new(), "audio/wav")),
    ]));
    let host = host_with(BIN, &ls, &["speech"], &["speech"]);
    for name in ["notes.txt", "empty.wav", "missing.wav"] {
        let body = json!({
            "tasks": [{"id": 1, "data": {"audio": format!("/data/upload/1/{name}")}}],
            "label_config": TEMPLATE,
        });
        let reply = host.post_json("/models/speech/predict", &body);
        assert_eq!(reply.status, 422, "{name}: {}", reply.body);
        // Bytes that are not audio are named by the task's data key, a missing file by its URL.
        let detail = reply.body["detail"].as_str().unwrap_or("");
        assert!(
            detail.contains("data.audio") || detail.contains(name),
            "{}",
            reply.body
        );
    }
    let text = r#"<View><Text name="t" value="$text"/><Labels name="l" toName="t">
        <Label value="PER"/></Labels></View>"#;
    let body = json!({"tasks": [{"id": 1, "data": {"text": "hi"}}], "label_config": text});
    let reply = host.post_json("/models/speech/predict", &body);
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("<Audio"),
        "{}",
        reply.body
    );
    // The host is still serving.
    assert_eq!(host.get("/health").status, 200);
}
