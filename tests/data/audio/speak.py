#!/usr/bin/env python3
"""Synthesises speech with known pauses, for the speech tests: a JSON spec on stdin,
    {"path": "talk.wav", "format": "WAV" | "FLAC" | "OGG" | "MP3",
     "subtype": "PCM_16" | "PCM_24" | "PCM_32" | "PCM_U8" | "FLOAT" | "DOUBLE" | "VORBIS" | ...,
     "rate": 16000, "channels": 1, "noise": 0.002,
     "phrases": ["Hello there.", ...], "gaps": [0.8, 1.2, ..., 0.6]}
speaks each phrase with espeak-ng, trims the silence espeak leaves around it, puts
`gaps[i]` seconds of silence (with faint white noise of amplitude `noise`) before phrase i
and `gaps[-1]` after the last, resamples to `rate` (linear interpolation), copies the signal
to every channel, writes the file with soundfile (libsndfile), and prints
    {"duration": seconds, "segments": [[start, end], ...]}
with the seconds of the file where each phrase's sound begins and ends."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf


def speak(text, workdir):
    """espeak-ng's rendering of `text` at its native 22050 Hz, trimmed to the voiced part."""
    path = os.path.join(workdir, "phrase.wav")
    subprocess.run(["espeak-ng", "-w", path, text], check=True)
    audio, rate = sf.read(path, dtype="float64")
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[loud[0] : loud[-1] + 1], rate


def main():
    spec = json.load(sys.stdin)
    phrases, gaps = spec["phrases"], spec["gaps"]
    assert len(gaps) == len(phrases) + 1, "one gap before each phrase and one after the last"
    rng = np.random.default_rng(spec.get("seed", 0))
    noise = spec.get("noise", 0.002)
    parts, segments, t = [], [], 0.0
    with tempfile.TemporaryDirectory() as workdir:
        for gap, text in zip(gaps, phrases + [None]):
            parts.append(np.zeros(int(gap * 22050)))
            t += gap
            if text is None:
                break
            voice, rate = speak(text, workdir)
            assert rate == 22050
            parts.append(voice)
            segments.append([round(t, 4), round(t + len(voice) / rate, 4)])
            t += len(voice) / rate
    signal = np.concatenate(parts)
    signal = signal + rng.uniform(-noise, noise, len(signal))
    target = spec.get("rate", 16000)
    if target != 22050:
        n = int(round(len(signal) * target / 22050))
        signal = np.interp(np.arange(n) * 22050 / target, np.arange(len(signal)), signal)
    channels = spec.get("channels", 1)
    data = np.stack([signal * (1.0 - 0.1 * c) for c in range(channels)], axis=1)
    sf.write(spec["path"], np.clip(data, -1, 1), target, format=spec.get("format", "WAV"), subtype=spec.get("subtype"))
    json.dump({"duration": len(signal) / target, "segments": segments}, sys.stdout)


if __name__ == "__main__":
    main()
