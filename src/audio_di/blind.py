"""Model-free baseline: can plain audio statistics tell suspect from validation clips?

If they can, a positive DI verdict may reflect a distribution shift between the two sets
rather than training, and the verdict is inconclusive.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from audio_di.audio import log_mel
from audio_di.di.engine import DISettings, Result, Works, dataset_inference


def audio_statistics(audio: np.ndarray, sample_rate: int, n_fft: int = 1024) -> pd.DataFrame:
    """Per-clip statistics of (N, samples) mono audio, one row per clip: the columns
    tables.BLIND_STATISTICS."""
    wave = torch.from_numpy(np.asarray(audio, dtype=np.float32))
    hop = n_fft // 4
    spec = torch.stft(
        wave, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True
    ).abs()  # (N, bins, frames)
    freqs = torch.linspace(0, sample_rate / 2, spec.shape[1])[None, :, None]
    weight = spec / spec.sum(dim=1, keepdim=True).clamp_min(1e-12)
    centroid = (weight * freqs).sum(dim=1)
    bandwidth = ((weight * (freqs - centroid[:, None]) ** 2).sum(dim=1)).sqrt()
    frames = wave.unfold(-1, n_fft, hop)
    frame_db = 10 * torch.log10(frames.pow(2).mean(dim=-1) + 1e-10)
    mel = log_mel(wave, sample_rate, n_fft, hop, 64)
    return pd.DataFrame(
        {
            # Mean-square power in dB (not loudness, which weighs frequencies as ears do).
            "power_db": 10 * np.log10(np.square(audio, dtype=np.float64).mean(axis=1) + 1e-10),
            "centroid_hz": centroid.mean(dim=1).numpy(),
            "bandwidth_hz": bandwidth.mean(dim=1).numpy(),
            "mel_mean": mel.mean(dim=(1, 2)).numpy(),
            "mel_var": mel.var(dim=(1, 2)).numpy(),
            "duration_s": np.full(len(audio), audio.shape[1] / sample_rate),
            "silence_ratio": (frame_db < -50).float().mean(dim=1).numpy(),
        }
    ).astype(np.float64)


def shift_test(audio: Works, settings: DISettings) -> Result:
    """Exact test that the suspect works differ from the validation works in their audio
    statistics: the DI machinery (crossfit, same alpha) on the statistics instead of the
    membership features. The scorer learns its direction from the labels, so a shift either
    way counts."""
    return dataset_inference(audio, "crossfit", replace(settings, residualise=False))
