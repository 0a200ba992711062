//! Band-limited resampling, as `torchaudio.functional.resample` does it by default
//! (`sinc_interp_hann`, `lowpass_filter_width = 6`, `rolloff = 0.99`): a Hann-windowed sinc
//! kernel per output phase, applied as a strided convolution over the zero-padded signal.

/// `samples` (mono) taken from `from` to `to` samples per second; the output has
/// `ceil(len * to / from)` samples. Equal rates return the input.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || samples.is_empty() {
        return samples.to_vec();
    }
    let divisor = gcd(from, to);
    let (orig, new) = ((from / divisor) as usize, (to / divisor) as usize);
    let (kernels, width) = kernels(orig, new);
    let taps = 2 * width + orig;
    // Zero padding: `width` before, `width + orig` after.
    let mut padded = vec![0f32; width + samples.len() + width + orig];
    padded[width..width + samples.len()].copy_from_slice(samples);
    let target = (new as u128 * samples.len() as u128).div_ceil(orig as u128) as usize;
    let frames = (padded.len() - taps) / orig + 1;
    let mut out = Vec::with_capacity(frames * new);
    for frame in 0..frames {
        let window = &padded[frame * orig..frame * orig + taps];
        for kernel in kernels.chunks_exact(taps) {
            out.push(window.iter().zip(kernel).map(|(s, k)| s * k).sum());
        }
        if out.len() >= target {
            break;
        }
    }
    out.truncate(target);
    out
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// torchaudio's `_get_sinc_resample_kernel`: `new` kernels of `2 * width + orig` taps
/// (computed in f64, kept as f32), and `width`.
fn kernels(orig: usize, new: usize) -> (Vec<f32>, usize) {
    const LOWPASS_FILTER_WIDTH: f64 = 6.0;
    const ROLLOFF: f64 = 0.99;
    let base = orig.min(new) as f64 * ROLLOFF;
    let width = (LOWPASS_FILTER_WIDTH * orig as f64 / base).ceil() as usize;
    let taps = 2 * width + orig;
    let scale = base / orig as f64;
    let mut kernels = Vec::with_capacity(new * taps);
    for phase in 0..new {
        for tap in 0..taps {
            let idx = (tap as f64 - width as f64) / orig as f64;
            let t = ((-(phase as f64) / new as f64 + idx) * base)
                .clamp(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH);
            let window = (t * std::f64::consts::PI / LOWPASS_FILTER_WIDTH / 2.0)
                .cos()
                .powi(2);
            let t = t * std::f64::consts::PI;
            let sinc = if t == 0.0 { 1.0 } else { t.sin() / t };
            kernels.push((sinc * window * scale) as f32);
        }
    }
    (kernels, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (i as f32 * freq * std::f32::consts::TAU / rate as f32).sin())
            .collect()
    }

    #[test]
    fn lengths_follow_the_rate_ratio() {
        assert_eq!(resample(&[0.0; 48_000], 48_000, 16_000).len(), 16_000);
        assert_eq!(resample(&[0.0; 1001], 44_100, 16_000).len(), 364);
        assert_eq!(resample(&[0.0; 100], 8000, 16_000).len(), 200);
        assert_eq!(resample(&[1.0, 2.0], 16_000, 16_000), [1.0, 2.0]);
    }

    #[test]
    fn a_tone_keeps_its_frequency_and_level() {
        // 440 Hz from 44.1 kHz to 16 kHz: the output is the same tone sampled at 16 kHz.
        let out = resample(&tone(440.0, 44_100, 0.5), 44_100, 16_000);
        let want = tone(440.0, 16_000, 0.5);
        // Away from the edges (the kernel's zero padding), within a small error.
        let worst = out[200..7800]
            .iter()
            .zip(&want[200..7800])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 0.02, "worst error {worst}");
    }

    #[test]
    fn frequencies_above_the_new_nyquist_are_removed() {
        // 5 kHz survives at 16 kHz output; 12 kHz (above 8 kHz) must not alias to 4 kHz.
        let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
        let high = resample(&tone(12_000.0, 48_000, 0.25), 48_000, 16_000);
        assert!(
            rms(&high[100..3900]) < 0.01,
            "aliased: {}",
            rms(&high[100..3900])
        );
        let kept = resample(&tone(5000.0, 48_000, 0.25), 48_000, 16_000);
        assert!(rms(&kept[100..3900]) > 0.6);
    }
}
