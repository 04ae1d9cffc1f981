"""Audio I/O and transforms: soundfile for files, torchaudio for resampling and mels."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from audio_di.io import atomic_path

# Audio quieter than -60 dBFS (RMS, full scale 1) carries no music: rests, release tails, dead air.
SILENCE_RMS = 1e-3


def is_silent(audio: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(np.square(audio)))) < SILENCE_RMS


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Return (channels x samples float32, sample_rate) for any format soundfile reads."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise ValueError(f"cannot read audio file {path}: {err}") from err
    return np.ascontiguousarray(data.T), int(sr)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average channels; a 1-D input is already mono."""
    return audio if audio.ndim == 1 else audio.mean(axis=0)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling along the last axis (deterministic on CPU)."""
    if orig_sr == target_sr:
        return audio.astype(np.float32, copy=False)
    out = torchaudio.functional.resample(
        torch.from_numpy(audio.astype(np.float32)), orig_sr, target_sr
    )
    return out.numpy()


def conform(audio: np.ndarray, orig_sr: int, sample_rate: int, channels: int) -> np.ndarray:
    """Bring (channels x samples) or 1-D audio to a model's rate and channel count.

    1 channel gives a 1-D array (the mean of the input channels); more give (channels x
    samples): kept when the counts agree, else the mono mix repeated (mono to stereo, or
    e.g. 5.1 to stereo).
    """
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    audio = resample(audio, orig_sr, sample_rate)
    if channels == 1:
        return to_mono(audio)
    if audio.ndim == 2 and audio.shape[0] == channels:
        return audio
    return np.repeat(to_mono(audio)[None], channels, axis=0)


def load_clip(path: str | Path, sample_rate: int, channels: int = 1) -> np.ndarray:
    """Read a file and bring it to `sample_rate` and `channels` (1 gives a 1-D array)."""
    audio, sr = read_audio(path)
    return conform(audio, sr, sample_rate, channels)


def segment(audio: np.ndarray, sample_rate: int, seconds: float) -> list[np.ndarray]:
    """Cut a mono signal into consecutive clips of exactly `seconds`; the short tail is dropped."""
    size = int(round(seconds * sample_rate))
    return [audio[i : i + size] for i in range(0, len(audio) - size + 1, size)]


def write_flac(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit FLAC atomically, so that a killed job leaves no half-written clip."""
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(audio, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")


def audio_sha256(path: str | Path) -> str:
    """Hash of the decoded 16-bit samples: equal for identical audio whatever the container."""
    data, sr = sf.read(str(path), dtype="int16", always_2d=True)
    digest = hashlib.sha256(np.int64(sr).tobytes())
    digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _mel_transform(sample_rate: int, n_fft: int, hop_length: int, n_mels: int):
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=2.0
    )


def log_mel(
    audio: torch.Tensor, sample_rate: int, n_fft: int, hop_length: int, n_mels: int
) -> torch.Tensor:
    """(batch, samples) -> (batch, n_mels, frames) natural-log mel power."""
    mel = _mel_transform(sample_rate, n_fft, hop_length, n_mels).to(audio.device)(audio)
    return torch.log(mel + 1e-5)


def load_clips(paths: list[str | Path], sample_rate: int, channels: int = 1) -> np.ndarray:
    """Stack equal-length clips into (N, samples), or (N, channels, samples) when channels > 1."""
    clips = [load_clip(p, sample_rate, channels) for p in paths]
    lengths = {c.shape[-1] for c in clips}
    if len(lengths) > 1:
        raise ValueError(f"clips differ in length ({sorted(lengths)} samples): {paths[:3]} ...")
    return np.stack(clips) if clips else np.zeros((0, 0), np.float32)
