"""Stable Audio Open (diffusers `StableAudioPipeline`) as a diffusion adapter.

x0 is the Oobleck VAE latent (batch, latent channels, frames), the mean of its posterior.

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
duration conditioning: seconds_start 0 and seconds_end the length of the clip, from the
latent's frames. The null condition is what the pipeline uses for classifier-free guidance
without a negative prompt: zero cross-attention states, the same global duration states.
"""

from __future__ import annotations

import math
from typing import Self

import pandas as pd
import torch

from audio_di.models.base import DiffusionAdapter, module_groups
from audio_di.models.pretrained import (
    PromptEncoder,
    load_pipeline,
    prompts,
)

# Integer timesteps on the continuous schedule: tau = t / STEPS.
STEPS = 1000


def cosine_alphas_cumprod(steps: int = STEPS) -> torch.Tensor:
    """abar_t = cos^2(pi tau / 2) at tau = t / steps, in float64 then float32."""
    tau = torch.arange(steps, dtype=torch.float64) / steps
    return torch.cos(tau * math.pi / 2).pow(2).float()


class StableAudio(DiffusionAdapter):
    kind = "stable_audio"
    prediction_type = "v_prediction"

    def __init__(self, pipeline):
        scheduler = pipeline.scheduler.config
        if scheduler.prediction_type != "v_prediction" or scheduler.sigma_data != 1.0:
            raise ValueError(
                "the Stable Audio adapter assumes a v_prediction model with sigma_data 1; this "
                f"scheduler has {scheduler.prediction_type!r} and sigma_data {scheduler.sigma_data}"
            )
        self.pipe = pipeline
        for module in (pipeline.vae, pipeline.transformer, pipeline.text_encoder):
            module.eval()
        self.device = pipeline.transformer.device
        self.dtype = pipeline.transformer.dtype
        self.sample_rate = int(pipeline.vae.config.sampling_rate)
        self.channels = int(pipeline.vae.config.audio_channels)
        self.alphas_cumprod = cosine_alphas_cumprod()
        self.prompts = PromptEncoder(self._encode_prompt)

    @classmethod
    def from_pretrained(
        cls,
        source: str,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        dtype: str = "float32",
    ) -> Self:
        from diffusers import StableAudioPipeline

        return cls(
            load_pipeline("Stable Audio", StableAudioPipeline, source, revision, dtype, device)
        )

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
        """(batch, channels, samples) -> VAE latent mean (batch, latent channels, frames)."""
        audio = audio.to(self.device, self.dtype)
        return self.pipe.vae.encode(audio).latent_dist.mode()

    def continuous_time(self, t: torch.Tensor) -> torch.Tensor:
        """The transformer's timestep input tau for integer timesteps t."""
        return t.double() / STEPS

    def predict(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict[str, torch.Tensor]):
        rows, frames = len(x_t), x_t.shape[-1]
        seconds = frames * self.pipe.vae.hop_length / self.sample_rate
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
