"""AudioLDM2 (diffusers `AudioLDM2Pipeline`) as a diffusion adapter.

x0 is the VAE latent of the clip's log-mel image (batch, 1, frames, mel bins), scaled by the
VAE's scaling factor, as the pipeline's latents are before `vae.decode`. Before the mel, each
clip (mixed to mono) is normalised as the AudioLDM family's data code normalises every
training segment (`normalise`). The mel follows the pipeline's vocoder, which turns such mels
back into audio: its sampling rate, its number of mel bins (`model_in_dim`) and its hop (the
product of its upsampling rates), with AudioLDM's 1024-point STFT at 16 kHz (scaled to other
rates), Slaney mel filters over 0 .. rate/2 and the natural log of the magnitude floored at
1e-5. The condition follows the pipeline's `encode_prompt` (CLAP and T5 through the projection
and the GPT-2 language model); the denoiser is its UNet, with the scheduler's alphas_cumprod
and prediction type.

The latent is the posterior mean by default (`latent: mean`). Training drew a sample from the
posterior (`get_first_stage_encoding` in haoheliu/AudioLDM2
audioldm2/latent_diffusion/models/ddpm.py calls `encoder_posterior.sample()`); the mean is that
sample's expected value, and it keeps a clip's score free of posterior noise, which does not
depend on whether the clip was trained on. `latent: sample` scores a posterior sample instead,
its noise fixed by the clip's audio.

Not matched: training also padded each segment with zeros to 10.24 s (`pad_wav` in the same
data code), while the adapter scores a clip at its own length.
"""

from __future__ import annotations

import math
from typing import Self

import pandas as pd
import torch
import torchaudio

from audio_di.models.base import DiffusionAdapter, module_groups
from audio_di.models.pretrained import (
    LATENTS,
    PromptEncoder,
    choice,
    load_pipeline,
    pad_stack,
    prompts,
    vae_latent,
)

# The peak of every normalised waveform.
PEAK = 0.5


def normalise(wave: torch.Tensor) -> torch.Tensor:
    """Waveforms (..., samples), each with its mean removed, then divided by its peak (plus
    1e-8) and scaled to PEAK: `normalize_wav`, which the AudioLDM data code applies to every
    segment after resampling and before padding and the mel (haoheliu/AudioLDM2
    audioldm2/utilities/data/dataset.py; the same in haoheliu/AudioLDM-training-finetuning
    audioldm_train/utilities/data/dataset.py)."""
    centred = wave - wave.mean(dim=-1, keepdim=True)
    return centred / (centred.abs().amax(dim=-1, keepdim=True) + 1e-8) * PEAK


class AudioLDM2(DiffusionAdapter):
    kind = "audioldm2"

    def __init__(self, pipeline, latent: str = "mean"):
        if pipeline.text_encoder_2.config.model_type != "t5":
            raise ValueError(
                "only text-to-audio AudioLDM2 checkpoints (T5 second text encoder) are supported, "
                f"not {pipeline.text_encoder_2.config.model_type!r} (text-to-speech)"
            )
        self.pipe = pipeline
        self.latent = choice("latent", latent, LATENTS)
        for module in (pipeline.vae, pipeline.unet, pipeline.text_encoder, pipeline.vocoder):
            module.eval()
        self.device = pipeline.unet.device
        self.dtype = pipeline.unet.dtype
        vocoder = pipeline.vocoder.config
        self.sample_rate = int(vocoder.sampling_rate)
        self.channels = 1
        self.prediction_type = pipeline.scheduler.config.prediction_type
        self.alphas_cumprod = pipeline.scheduler.alphas_cumprod.clone().float()
        self.hop = math.prod(vocoder.upsample_rates)
        n_fft = round(1024 * self.sample_rate / 16000)
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=self.sample_rate,
            n_fft=n_fft,
            hop_length=self.hop,
            f_min=0.0,
            f_max=self.sample_rate / 2,
            n_mels=int(vocoder.model_in_dim),
            power=1.0,
            norm="slaney",
            mel_scale="slaney",
        ).to(self.device)
        self.prompts = PromptEncoder(self._encode_prompt)

    @classmethod
    def from_pretrained(
        cls,
        source: str,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        dtype: str = "float32",
        latent: str = "mean",
    ) -> Self:
        from diffusers import AudioLDM2Pipeline

        pipeline = load_pipeline("AudioLDM2", AudioLDM2Pipeline, source, revision, dtype, device)
        return cls(pipeline, latent)

    # -- conditioning ----------------------------------------------------------------------

    def _encode_prompt(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(T5 states, language-model states) of one prompt, by the steps of the pipeline's
        `encode_prompt`. The language model's generation loop is run here because diffusers
        0.42 runs it through GenerationMixin methods that the GPT2Model of the published
        checkpoints lacks under transformers 5 (diffusers issue 12630); one prompt has no
        padding, so the loop needs neither a cache nor position bookkeeping."""
        pipe = self.pipe
        clap_in = pipe.tokenizer(
            [text],
            padding="max_length",
            max_length=pipe.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).to(self.device)
        clap = pipe.text_encoder.get_text_features(
            clap_in.input_ids, attention_mask=clap_in.attention_mask
        )
        clap = getattr(clap, "pooler_output", clap)[:, None, :]
        t5_in = pipe.tokenizer_2(
            [text],
            max_length=pipe.tokenizer_2.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).to(self.device)
        t5 = pipe.text_encoder_2(t5_in.input_ids, attention_mask=t5_in.attention_mask)[0]
        projected = pipe.projection_model(
            hidden_states=clap,
            hidden_states_1=t5,
            attention_mask=torch.ones(clap.shape[:2], dtype=torch.long, device=self.device),
            attention_mask_1=t5_in.attention_mask,
        )
        states, mask = projected.hidden_states, projected.attention_mask
        steps = pipe.language_model.config.max_new_tokens
        for _ in range(steps):
            out = pipe.language_model(inputs_embeds=states, attention_mask=mask).last_hidden_state
            states = torch.cat([states, out[:, -1:]], dim=1)
            mask = torch.cat([mask, mask.new_ones(1, 1)], dim=1)
        return t5[0], states[0, -steps:]

    def _batch_condition(self, texts: list[str]) -> dict[str, torch.Tensor]:
        encoded = self.prompts(texts)
        t5, mask = pad_stack([t5 for t5, _ in encoded])
        return {"t5": t5, "t5_mask": mask, "generated": torch.stack([g for _, g in encoded])}

    def condition(self, meta: pd.DataFrame) -> dict[str, torch.Tensor]:
        """The pipeline's prompt encoding of each clip's caption (else a template on its artist)."""
        return self._batch_condition(prompts(meta))

    def null_condition(self, batch_size: int) -> dict[str, torch.Tensor]:
        """The empty prompt, the pipeline's default negative prompt."""
        return self._batch_condition([""] * batch_size)

    # -- the diffusion interface -----------------------------------------------------------

    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> (batch, 1, frames, mel bins) of the normalised mono
        clips, frames a multiple of the VAE's downsampling factor (the tail is cut)."""
        wave = normalise(audio.float().mean(dim=1).to(self.device))
        mel = self.mel(wave).clamp_min(1e-5).log()
        factor = self.pipe.vae_scale_factor
        frames = mel.shape[-1] // factor * factor
        if frames == 0:
            raise ValueError(f"clip too short for AudioLDM2: under {factor} mel frames")
        return mel[..., :frames].transpose(1, 2)[:, None]

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        vae = self.pipe.vae
        posterior = vae.encode(self.log_mel(audio).to(self.dtype)).latent_dist
        return vae_latent(posterior, audio, self.latent) * vae.config.scaling_factor

    def predict(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict[str, torch.Tensor]):
        return self.pipe.unet(
            x_t.to(self.dtype),
            t,
            encoder_hidden_states=cond["generated"],
            encoder_hidden_states_1=cond["t5"],
            encoder_attention_mask_1=cond["t5_mask"],
        ).sample

    def parameter_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        """The UNet's parameters by top-level block."""
        return module_groups(self.pipe.unet)
