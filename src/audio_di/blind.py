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
from audio_di.tables import BANDS

# The cutoff is the highest frequency whose long-term level is within this many dB of the
# loudest frequency's: a low-pass or a lossy codec's band limit moves it, the music hardly.
CUTOFF_DB = 60.0
MELS = 64


def audio_statistics(audio: np.ndarray, sample_rate: int, n_fft: int = 1024) -> pd.DataFrame:
    """Per-clip statistics of (N, samples) mono audio, one row per clip: the columns
    tables.SHIFT_STATISTICS (tables.BLIND_STATISTICS among them), each computed from the
    clip alone, so that a row does not depend on the batch. Spectral flatness as in Gray &
    Markel, "A spectral-flatness measure for studying the autocorrelation method of linear
    prediction of speech analysis", IEEE Trans. ASSP 1974."""
    wave = torch.from_numpy(np.asarray(audio, dtype=np.float32))
    hop = n_fft // 4
    spec = torch.stft(
        wave, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True
    ).abs()  # (N, bins, frames)
    freqs = torch.linspace(0, sample_rate / 2, spec.shape[1])
    weight = spec / spec.sum(dim=1, keepdim=True).clamp_min(1e-12)
    centroid = (weight * freqs[None, :, None]).sum(dim=1)
    bandwidth = ((weight * (freqs[None, :, None] - centroid[:, None]) ** 2).sum(dim=1)).sqrt()
    frames = wave.unfold(-1, n_fft, hop)
    frame_db = 10 * torch.log10(frames.pow(2).mean(dim=-1) + 1e-10)
    mel = log_mel(wave, sample_rate, n_fft, hop, MELS)
    # Frames inside the clip only: the padded edge frames leak some -50 dB across the band.
    inner = torch.stft(
        wave, n_fft, hop, window=torch.hann_window(n_fft), center=False, return_complex=True
    )
    power = inner.abs().double().pow(2) + 1e-20
    # Spectral flatness (geometric over arithmetic mean of the power spectrum) per frame.
    flatness = 10 * (power.log().mean(dim=1) - power.mean(dim=1).log()) / np.log(10)
    level = 10 * power.mean(dim=2).log10()  # (N, bins): the long-term spectrum in dB
    audible = level >= level.max(dim=1, keepdim=True).values - CUTOFF_DB
    top = audible.shape[1] - 1 - audible.flip(1).to(torch.uint8).argmax(dim=1)
    # Mean log mel power of BANDS equal runs of mels, in dB.
    bands = 10 * mel.mean(dim=2).reshape(len(wave), BANDS, -1).mean(dim=2) / np.log(10)
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
            **{f"band{k}_db": bands[:, k].numpy() for k in range(BANDS)},
            "flatness_db": flatness.mean(dim=1).numpy(),
            "cutoff_hz": freqs[top].numpy(),
        }
    ).astype(np.float64)


def shift_test(audio: Works, settings: DISettings) -> Result:
    """Exact test that the suspect works differ from the validation works in their audio
    statistics: the DI machinery (crossfit, same alpha) on the statistics instead of the
    membership features. The scorer learns its direction from the labels, so a shift either
    way counts."""
    return dataset_inference(audio, "crossfit", replace(settings, residualise=False))
