"""Model-free baseline: plain audio statistics of every evaluated clip. If they tell suspect
from validation works (di.engine.shift_test), a positive DI verdict may reflect a
distribution shift between the two sets rather than training, and the verdict is
inconclusive. They need no model, so the models stage computes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from audio_di.audio import log_mel
from audio_di.corpus.manifest import corpus_batches
from audio_di.splits import evaluation_sets
from audio_di.tables import BANDS, SHIFT_STATISTICS

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


# Audio per batch of the corpus's statistics: their spectrograms take about 100 bytes a
# sample, so a batch needs some 25 MB whatever the corpus's size; larger batches are no
# faster (benchmarks/audio_statistics_memory.py).
STATISTICS_BATCH_SAMPLES = 2**18


def corpus_statistics(
    manifest_path: str | Path,
    splits: pd.DataFrame,
    sample_rate: int,
    batch_samples: int = STATISTICS_BATCH_SAMPLES,
) -> pd.DataFrame:
    """Audio statistics of every evaluated clip, read and computed in batches of
    `batch_samples` samples; a clip's row does not depend on its batch."""
    clip_ids = evaluation_sets(splits)["clip_id"].reset_index(drop=True)
    # One array filled batch by batch: small tables kept from batch to batch would pin the
    # allocator's heap, which would then grow with every batch.
    values = np.empty((len(clip_ids), len(SHIFT_STATISTICS)))
    start = 0
    for audio in corpus_batches(manifest_path, clip_ids, sample_rate, batch_samples):
        stats = audio_statistics(audio, sample_rate)[list(SHIFT_STATISTICS)]
        values[start : start + len(audio)] = stats.to_numpy()
        start += len(audio)
    return pd.concat([clip_ids, pd.DataFrame(values, columns=list(SHIFT_STATISTICS))], axis=1)
