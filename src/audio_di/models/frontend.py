"""The embedded models' front end: a clip as a normalised log-mel image, and (for the AR
model) each mel frame as the index of its nearest k-means centre."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from audio_di.audio import log_mel

# log_mel's floor, i.e. silence: what short clips are padded with.
SILENCE = math.log(1e-5)


class MelFrontend(torch.nn.Module):
    """Log-mel of exactly `frames` frames, normalised per mel bin with training-set statistics."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int, frames: int):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.n_mels, self.frames = n_mels, frames
        self.register_buffer("mean", torch.zeros(n_mels))
        self.register_buffer("std", torch.ones(n_mels))

    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> (batch, n_mels, frames), channels averaged to mono."""
        mel = log_mel(audio.mean(dim=1), self.sample_rate, self.n_fft, self.hop_length, self.n_mels)
        mel = mel[..., : self.frames]
        return F.pad(mel, (0, self.frames - mel.shape[-1]), value=SILENCE)

    def normalise(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mean[:, None]) / self.std[:, None]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.normalise(self.log_mel(audio))

    def fit(self, mel: torch.Tensor) -> None:
        """Per-bin statistics over all frames of the training log-mels (clips, n_mels, frames)."""
        per_bin = mel.transpose(0, 1).reshape(self.n_mels, -1)
        self.mean.copy_(per_bin.mean(dim=1))
        # The floor keeps a constant bin (e.g. above a band limit) from blowing up.
        self.std.copy_(per_bin.std(dim=1).clamp(min=1e-2))


class FrameCodebook(torch.nn.Module):
    """Discrete tokenizer: each normalised mel frame -> index of its nearest k-means centre."""

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.register_buffer("centres", torch.zeros(size, dim))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(batch, n_mels, frames) -> codes (batch, 1, frames)."""
        frames = mel.transpose(1, 2).reshape(-1, mel.shape[1])
        return _nearest(frames, self.centres).view(mel.shape[0], 1, mel.shape[2])

    def fit(self, frames: torch.Tensor, generator: torch.Generator) -> None:
        """k-means on (points, dim) with k-means++ starts (scikit-learn), seeded from
        `generator`."""
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        size = len(self.centres)
        if len(frames) < size:
            raise ValueError(f"codebook_size {size} exceeds the {len(frames)} training frames")
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        kmeans = KMeans(size, init="k-means++", n_init=1, random_state=seed)
        # One thread: scikit-learn's parallel sums round differently with each thread count,
        # and the codebook must not depend on the machine that trains it.
        with threadpool_limits(limits=1):
            kmeans.fit(frames.numpy())
        self.centres.copy_(torch.from_numpy(kmeans.cluster_centers_))


def _nearest(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.cdist(chunk, centres).argmin(dim=1) for chunk in points.split(16384)])
