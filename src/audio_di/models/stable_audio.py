"""Stable Audio Open (diffusers `StableAudioPipeline`) as a diffusion adapter.

x0 is the Oobleck VAE latent (batch, latent channels, frames) of the clip, by default
zero-padded to the model's training window as stable-audio-tools presented a file shorter than
the window (`window`, below).

The model is trained with the v-objective on the continuous cosine schedule: at time
tau in [0, 1], x_tau = cos(pi tau / 2) x0 + sin(pi tau / 2) eps, and the transformer, given
x_tau and tau, predicts v = cos(pi tau / 2) eps - sin(pi tau / 2) x0. The pipeline's
CosineDPMSolverMultistepScheduler says the same in EDM terms: it feeds the transformer
x_sigma / sqrt(1 + sigma^2) (with x_sigma = x0 + sigma eps) at timestep atan(sigma) * 2 / pi,
and reads x0 = x_sigma / (1 + sigma^2) - sigma / sqrt(1 + sigma^2) v (sigma_data 1); with
sigma = tan(pi tau / 2) these are the formulas above. The adapter exposes that schedule on a
grid of STEPS integer timesteps, tau = t / STEPS, so alphas_cumprod[t] = cos^2(pi t / (2 STEPS)),
and declares v_prediction, which DiffusionAdapter.epsilon converts to epsilon.

The condition is the pipeline's own T5 encoding (through its projection model) plus the
duration conditioning. The null condition is what the pipeline uses for classifier-free
guidance without a negative prompt, and what training's condition dropout fed the model: zero
cross-attention states, the same global duration states (`cfg_dropout_prob` in
Stability-AI/stable-audio-tools stable_audio_tools/models/dit.py).

The window (model spec key `window`):
- `padded` (default): what training saw for a file shorter than the window. The training
  data code (`PadCrop_Normalized_T` in stable_audio_tools/data/utils.py, used by
  stable_audio_tools/data/dataset.py) copies the audio to the start of a zero window of
  `sample_size` samples and conditions on seconds_start floor(offset / rate) = 0 and
  seconds_total ceil(samples / rate) (the projection model's `end_seconds`); the whole window
  goes through the VAE, and the loss covers the whole window, padding included
  (`DiffusionCondTrainingWrapper` in stable_audio_tools/training/diffusion.py masks it only
  with `mask_padding`, false by default in stable_audio_tools/training/factory.py and unset in
  stable-audio-open-1.0's model_config.json). The pipeline likewise denoises the full window
  (`sample_size`) and crops afterwards (huggingface/diffusers
  src/diffusers/pipelines/stable_audio/pipeline_stable_audio.py). A clip longer than the
  window is refused: training only ever saw window-long crops of such files, at offsets a clip
  does not record.
- `clip`: the earlier behaviour, a latent as long as the clip and seconds_end its length from
  the latent's frames. A clip cut from a longer work was, in training, part of a window full
  of that work's other audio, with seconds_total the work's length; neither choice reproduces
  that, so `clip` stays for users who prefer to score the clip's frames only.

With `padded`, `predict` conditions on the duration of the clips that `encode` saw last: the
attacks encode each batch (all its clips one length) before denoising it.

The latent is the posterior mean by default (`latent: mean`). Training sampled it: the VAE
bottleneck's `encode` always draws from the posterior (`VAEBottleneck` in
stable_audio_tools/models/bottleneck.py). The mean is that sample's expected value and keeps
posterior noise, which does not depend on membership, out of a clip's score; `latent: sample`
scores a posterior sample instead, its noise fixed by the clip's audio.
"""

from __future__ import annotations

import math
from typing import Self

import pandas as pd
import torch

from audio_di.models.base import DiffusionAdapter, module_groups
from audio_di.models.pretrained import (
    LATENTS,
    PromptEncoder,
    choice,
    load_pipeline,
    prompts,
    vae_latent,
)

# Integer timesteps on the continuous schedule: tau = t / STEPS.
STEPS = 1000
# What the transformer sees of a clip (model spec key `window`): the training window, the clip
# zero-padded to it, or a latent as long as the clip.
WINDOWS = ("padded", "clip")


def cosine_alphas_cumprod(steps: int = STEPS) -> torch.Tensor:
    """abar_t = cos^2(pi tau / 2) at tau = t / steps, in float64 then float32."""
    tau = torch.arange(steps, dtype=torch.float64) / steps
    return torch.cos(tau * math.pi / 2).pow(2).float()


class StableAudio(DiffusionAdapter):
    kind = "stable_audio"
    prediction_type = "v_prediction"

    def __init__(self, pipeline, window: str = "padded", latent: str = "mean"):
        scheduler = pipeline.scheduler.config
        if scheduler.prediction_type != "v_prediction" or scheduler.sigma_data != 1.0:
            raise ValueError(
                "the Stable Audio adapter assumes a v_prediction model with sigma_data 1; this "
                f"scheduler has {scheduler.prediction_type!r} and sigma_data {scheduler.sigma_data}"
            )
        self.pipe = pipeline
        self.window = choice("window", window, WINDOWS)
        self.latent = choice("latent", latent, LATENTS)
        for module in (pipeline.vae, pipeline.transformer, pipeline.text_encoder):
            module.eval()
        self.device = pipeline.transformer.device
        self.dtype = pipeline.transformer.dtype
        self.sample_rate = int(pipeline.vae.config.sampling_rate)
        self.channels = int(pipeline.vae.config.audio_channels)
        self.window_samples = int(pipeline.transformer.config.sample_size) * pipeline.vae.hop_length
        self.alphas_cumprod = cosine_alphas_cumprod()
        self.prompts = PromptEncoder(self._encode_prompt)
        # seconds_total of the clips last encoded, with the padded window.
        self.seconds_total: int | None = None

    @classmethod
    def from_pretrained(
        cls,
        source: str,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        dtype: str = "float32",
        window: str = "padded",
        latent: str = "mean",
    ) -> Self:
        from diffusers import StableAudioPipeline

        pipeline = load_pipeline(
            "Stable Audio", StableAudioPipeline, source, revision, dtype, device
        )
        return cls(pipeline, window, latent)

    # -- conditioning ----------------------------------------------------------------------

    def _encode_prompt(self, text: str) -> tuple[torch.Tensor]:
        # Padded to the tokenizer's fixed length and masked to zero by the pipeline.
        embeds = self.pipe.encode_prompt([text], self.device, do_classifier_free_guidance=False)
        return (embeds[0],)

    def condition(self, meta: pd.DataFrame) -> dict[str, torch.Tensor]:
        """Projected T5 states of each clip's caption (else a template on its artist)."""
        text = torch.stack([embeds for (embeds,) in self.prompts(prompts(meta))])
        return {"text": text, "keep": torch.ones(len(text), device=self.device, dtype=text.dtype)}

    def null_condition(self, batch_size: int) -> dict[str, torch.Tensor]:
        """Zero cross-attention states (text and duration), as the pipeline's guidance."""
        (embeds,) = self.prompts([""])[0]
        text = embeds.new_zeros(batch_size, *embeds.shape)
        return {"text": text, "keep": text.new_zeros(batch_size)}

    # -- the diffusion interface -----------------------------------------------------------

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> VAE latent (batch, latent channels, frames): of the
        clips zero-padded to the training window, or of the clips alone (`window`)."""
        samples = audio.shape[-1]
        if self.window == "padded":
            if samples > self.window_samples:
                raise ValueError(
                    f"clips of {samples / self.sample_rate:.2f} s are longer than Stable "
                    f"Audio's training window of {self.window_samples / self.sample_rate:.2f} s: "
                    "use shorter clips (clip_seconds), or window: clip"
                )
            self.seconds_total = math.ceil(samples / self.sample_rate)
            audio = torch.nn.functional.pad(audio, (0, self.window_samples - samples))
        posterior = self.pipe.vae.encode(audio.to(self.device, self.dtype)).latent_dist
        return vae_latent(posterior, audio, self.latent)

    def continuous_time(self, t: torch.Tensor) -> torch.Tensor:
        """The transformer's timestep input tau for integer timesteps t."""
        return t.double() / STEPS

    def seconds_end(self, frames: int) -> float:
        """The duration the transformer is conditioned on for a latent of `frames` frames."""
        if self.window == "clip":
            return frames * self.pipe.vae.hop_length / self.sample_rate
        if self.seconds_total is None:
            raise RuntimeError("encode the clips first: their length sets the duration")
        return self.seconds_total

    def predict(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict[str, torch.Tensor]):
        rows, frames = len(x_t), x_t.shape[-1]
        seconds = self.seconds_end(frames)
        durations = self.pipe.projection_model(
            start_seconds=torch.zeros(rows, device=self.device),
            end_seconds=torch.full((rows,), seconds, device=self.device),
        )
        start = durations.seconds_start_hidden_states.to(self.dtype)
        end = durations.seconds_end_hidden_states.to(self.dtype)
        keep = cond["keep"].view(-1, 1, 1).to(self.dtype)
        cross = torch.cat([cond["text"].to(self.dtype), start, end], dim=1) * keep
        global_states = torch.cat([start, end], dim=2)
        rotary = _rotary(self.pipe.rotary_embed_dim, frames + global_states.shape[1], x_t.device)
        return self.pipe.transformer(
            x_t.to(self.dtype),
            self.continuous_time(t).to(self.dtype),
            encoder_hidden_states=cross,
            global_hidden_states=global_states,
            rotary_embedding=rotary,
        ).sample

    def parameter_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        """The transformer's parameters by top-level block (each transformer block apart)."""
        return module_groups(self.pipe.transformer)


def _rotary(dim: int, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    from diffusers.models.embeddings import get_1d_rotary_pos_embed

    cos, sin = get_1d_rotary_pos_embed(dim, length, use_real=True, repeat_interleave_real=False)
    return cos.to(device), sin.to(device)
