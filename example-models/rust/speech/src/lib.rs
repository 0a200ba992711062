//! Voice activity detection for Label Studio: for an `<Audio>` with `<Labels>`, one region
//! per speech segment, `start` and `end` in seconds, found by Silero VAD (`silero-vad` 6.2.3,
//! `silero_vad.onnx`) on the host's ONNX Runtime through `wasi:nn` (graph `vad`). The audio
//! (WAV of any PCM or float encoding, MP3, FLAC, Ogg/Vorbis) is mixed down and resampled to
//! 16 kHz in the guest; segments follow Silero's own `get_speech_timestamps` ([`segments`]).

pub mod model;
pub mod segments;
pub mod vad;

pub use model::Speech;
