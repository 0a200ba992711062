//! Silero VAD's streaming loop (its `OnnxWrapper.__call__` over `get_speech_timestamps`'
//! frames): 16 kHz audio in frames of 512 samples, each prefixed with the previous frame's
//! last 64 samples, the recurrent `state` carried from one frame to the next, `sr` as an i64
//! scalar; one speech probability per frame.

use wasml_guest::Error;
use wasml_guest::nn::{Graph, Tensor};

/// The sample rate the graph runs at.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples per frame at 16 kHz.
pub const FRAME: usize = 512;
/// Samples of the previous frame prefixed to each.
const CONTEXT: usize = 64;
/// The recurrent state's shape, `[2, batch, 128]`.
const STATE: [u32; 3] = [2, 1, 128];

/// Runs one frame at a time: whatever computes `(input, state) -> (probability, state)`.
pub trait Frames {
    /// The speech probability of `input` (`[1, 576]`) and the next state.
    fn step(&mut self, input: &[f32], state: &[f32]) -> Result<(f32, Vec<f32>), Error>;
}

/// The graph on the host.
pub struct HostVad(pub Graph);

impl Frames for HostVad {
    fn step(&mut self, input: &[f32], state: &[f32]) -> Result<(f32, Vec<f32>), Error> {
        let outputs = self.0.compute(&[
            ("input", Tensor::f32(&[1, (CONTEXT + FRAME) as u32], input)),
            ("state", Tensor::f32(&STATE, state)),
            ("sr", Tensor::i64(&[], &[i64::from(SAMPLE_RATE)])),
        ])?;
        let probability = outputs.get("output")?.to_f32()?;
        let state = outputs.get("stateN")?.to_f32()?;
        match probability.first() {
            Some(&p) if state.len() == 2 * 128 => Ok((p, state)),
            _ => Err(Error::internal(format!(
                "the VAD graph gave {} probabilities and a state of {} values",
                probability.len(),
                state.len()
            ))),
        }
    }
}

/// The speech probability of each 512-sample frame of `audio` (16 kHz mono), the last
/// frame zero-padded.
pub fn probabilities(audio: &[f32], frames: &mut impl Frames) -> Result<Vec<f32>, Error> {
    let mut state = vec![0f32; 2 * 128];
    let mut input = vec![0f32; CONTEXT + FRAME];
    let mut out = Vec::with_capacity(audio.len().div_ceil(FRAME));
    for chunk in audio.chunks(FRAME) {
        // The context is the previous input's last 64 samples (zeros at the start).
        input.copy_within(FRAME.., 0);
        input[CONTEXT..CONTEXT + chunk.len()].copy_from_slice(chunk);
        input[CONTEXT + chunk.len()..].fill(0.0);
        let (probability, next) = frames.step(&input, &state)?;
        out.push(probability);
        state = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what it is given; says "speech" when the frame's mean level is high.
    struct Recorder(Vec<Vec<f32>>);

    impl Frames for Recorder {
        fn step(&mut self, input: &[f32], state: &[f32]) -> Result<(f32, Vec<f32>), Error> {
            self.0.push(input.to_vec());
            let level = input.iter().map(|v| v.abs()).sum::<f32>() / input.len() as f32;
            Ok((level, state.iter().map(|s| s + 1.0).collect()))
        }
    }

    #[test]
    fn frames_carry_their_context_and_the_last_is_padded() -> Result<(), Error> {
        let audio: Vec<f32> = (0..1100).map(|i| i as f32).collect();
        let mut recorder = Recorder(Vec::new());
        let probabilities = probabilities(&audio, &mut recorder)?;
        assert_eq!(probabilities.len(), 3);
        let frames = recorder.0;
        assert!(frames[0][..CONTEXT].iter().all(|&v| v == 0.0));
        assert_eq!(frames[0][CONTEXT], 0.0);
        assert_eq!(frames[0][CONTEXT + 511], 511.0);
        // Frame 2 starts with frame 1's last 64 samples: 448..512.
        assert_eq!(frames[1][0], 448.0);
        assert_eq!(frames[1][CONTEXT], 512.0);
        // The last frame holds 1024..1100 and zeros.
        assert_eq!(frames[2][CONTEXT + 75], 1099.0);
        assert!(frames[2][CONTEXT + 76..].iter().all(|&v| v == 0.0));
        Ok(())
    }
}
