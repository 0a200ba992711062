//! Audio for speech and sound models (feature `audio`): decoding WAV (PCM of 8, 16, 24 or 32
//! bits, 32- or 64-bit float, any channel count and rate), with feature `audio-codecs` MP3,
//! FLAC and Ogg/Vorbis too (symphonia), mixing down to mono and resampling to the rate a
//! network was trained at ([`resample`], torchaudio's windowed-sinc `resample`).
//!
//! ```
//! use wasml_guest::audio::{Audio, resample};
//!
//! // One second of a 440 Hz tone at 44.1 kHz, in stereo.
//! let tone: Vec<f32> = (0..44_100)
//!     .flat_map(|i| [(i as f32 * 440.0 * std::f32::consts::TAU / 44_100.0).sin(); 2])
//!     .collect();
//! let audio = Audio { sample_rate: 44_100, channels: 2, samples: tone };
//! let mono_16k = audio.to_mono_at(16_000);
//! assert_eq!(mono_16k.len(), 16_000);
//! assert_eq!(resample(&[0.0; 100], 16_000, 16_000).len(), 100);
//! ```

#[cfg(feature = "audio-codecs")]
mod codecs;
mod resample;
mod wav;

pub use resample::resample;
pub use wav::decode_wav;

/// Decoding stops above this many samples (all channels), about 23 minutes of 48 kHz
/// stereo, so a file that declares a huge stream cannot exhaust the guest's memory.
pub const MAX_SAMPLES: usize = 128 * 1024 * 1024;

/// Decoded audio: interleaved samples in `[-1, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second, per channel.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: usize,
    /// `frames * channels` samples, frame by frame.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// The length in seconds.
    pub fn duration(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// The mean of the channels, frame by frame.
    pub fn mono(&self) -> Vec<f32> {
        if self.channels <= 1 {
            return self.samples.clone();
        }
        let scale = 1.0 / self.channels as f32;
        self.samples
            .chunks_exact(self.channels)
            .map(|frame| frame.iter().sum::<f32>() * scale)
            .collect()
    }

    /// Mono at `rate` samples per second: [`Audio::mono`], then [`resample`].
    pub fn to_mono_at(&self, rate: u32) -> Vec<f32> {
        resample(&self.mono(), self.sample_rate, rate)
    }
}

/// Decodes an audio file recognised by its content: WAV always; MP3, FLAC and Ogg/Vorbis
/// with feature `audio-codecs`.
pub fn decode(bytes: &[u8]) -> Result<Audio, String> {
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        return decode_wav(bytes);
    }
    #[cfg(feature = "audio-codecs")]
    {
        codecs::decode(bytes)
    }
    #[cfg(not(feature = "audio-codecs"))]
    {
        Err(
            "unsupported audio format: only WAV can be read (MP3, FLAC and Ogg need the \
             SDK's audio-codecs feature)"
                .to_string(),
        )
    }
}
