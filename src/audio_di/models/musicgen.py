"""MusicGen (transformers `MusicgenForConditionalGeneration`) as an autoregressive adapter.

Codes are the model's own EnCodec tokens, K codebooks per frame. MusicGen predicts them in
the delay pattern: codebook k is shifted right by k steps, so at decoder position j it predicts
codebook k's code of frame j - k, after a start token and k pad tokens. `logits` builds that
delayed input and reads each code's distribution back at position s + k, so that the
log-probabilities line up with the undelayed codes (batch, K, frames) that `tokenize` returns.

The condition is the T5 states of each clip's prompt (caption, else a template on the artist).
The null condition is what MusicGen learned as "no text": one zero state with attention mask
0, as transformers' `get_unconditional_inputs` and the guidance of its `generate` give it
(huggingface/transformers src/transformers/models/musicgen/modeling_musicgen.py), and as
audiocraft's T5Conditioner gives a dropped or empty description, whose mask it sets to 0 and
whose states it multiplies by that mask (facebookresearch/audiocraft
audiocraft/modules/conditioners.py). A clip with neither caption nor artist has no text, so
it is scored under the null condition too, not under T5 states of the empty string.
"""

from __future__ import annotations

from typing import Self

import pandas as pd
import torch

from audio_di.models.base import AutoregressiveAdapter
from audio_di.models.pretrained import (
    PromptEncoder,
    hub_options,
    load,
    load_checkpoint,
    pad_stack,
    prompts,
)


class MusicGen(AutoregressiveAdapter):
    kind = "musicgen"

    def __init__(self, model, tokenizer):
        config = model.config
        if config.decoder.audio_channels != 1:
            raise ValueError(
                "stereo MusicGen checkpoints (audio_channels 2, interleaved codebooks) are not "
                "supported; use a mono one such as facebook/musicgen-small"
            )
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = model.device
        self.dtype = model.dtype
        self.sample_rate = int(config.audio_encoder.sampling_rate)
        self.channels = 1
        self.num_codebooks = int(config.decoder.num_codebooks)
        self.vocab_size = int(config.decoder.vocab_size)
        self.pad_id = int(config.decoder.pad_token_id)
        self.start_id = int(config.decoder_start_token_id)
        self.prompts = PromptEncoder(self._encode_prompt)

    @classmethod
    def from_pretrained(
        cls,
        source: str,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        dtype: str = "float32",
    ) -> Self:
        from transformers import AutoTokenizer, MusicgenForConditionalGeneration

        source = str(source)
        model = load_checkpoint(
            "MusicGen",
            MusicgenForConditionalGeneration,
            source,
            revision,
            dtype,
            ("config.json", "model_type", "musicgen"),
        )
        tokenizer = load(
            "MusicGen",
            source,
            revision,
            lambda: AutoTokenizer.from_pretrained(source, **hub_options(revision)),
        )
        return cls(model.to(device), tokenizer)

    # -- conditioning ----------------------------------------------------------------------

    def _encode_prompt(self, text: str) -> tuple[torch.Tensor]:
        if not text:
            (hidden,) = self.model.get_unconditional_inputs(1).encoder_outputs
        else:
            ids = self.tokenizer(text, return_tensors="pt").to(self.device)
            hidden = self.model.text_encoder(**ids).last_hidden_state
        return (hidden[0],)

    def _batch_condition(self, texts: list[str]) -> dict[str, torch.Tensor]:
        hidden, mask = pad_stack([encoded for (encoded,) in self.prompts(texts)])
        # No text: mask 0, which the model multiplies into the states (the null condition).
        mask[torch.tensor([not text for text in texts], device=mask.device)] = 0
        return {"hidden": hidden, "mask": mask}

    def condition(self, meta: pd.DataFrame) -> dict[str, torch.Tensor]:
        """T5 states of each clip's prompt (caption, else a template on the artist); the null
        condition for a clip with neither."""
        return self._batch_condition(prompts(meta))

    def null_condition(self, batch_size: int) -> dict[str, torch.Tensor]:
        """transformers' `get_unconditional_inputs`: one zero state, attention mask 0."""
        return self._batch_condition([""] * batch_size)

    # -- codes and their log-probabilities -------------------------------------------------

    def tokenize(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> EnCodec codes (batch, num_codebooks, frames), int64."""
        encoded = self.model.audio_encoder.encode(audio.to(self.device, self.dtype))
        codes = encoded.audio_codes  # (chunks, batch, codebooks, frames); one chunk here
        if codes.shape[0] != 1 or codes.shape[2] != self.num_codebooks:
            raise ValueError(
                f"EnCodec gave codes of shape {tuple(codes.shape)}; expected one chunk of "
                f"{self.num_codebooks} codebooks"
            )
        return codes[0].long()

    def delayed_input(self, codes: torch.Tensor) -> torch.Tensor:
        """Decoder input (batch, K, frames + K - 1) in the delay pattern: the start token, then
        codebook k's codes shifted right by k, pad tokens before and after them."""
        batch, books, frames = codes.shape
        length = frames + books - 1
        delayed = torch.full((batch, books, length), self.pad_id, dtype=torch.long)
        delayed = delayed.to(codes.device)
        for k in range(books):
            delayed[:, k, k : k + frames] = codes[:, k]
        start = torch.full((batch, books, 1), self.start_id, dtype=torch.long, device=codes.device)
        return torch.cat([start, delayed[..., :-1]], dim=-1)

    def logits(self, codes: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        """Log-softmax (batch, K, frames, vocab_size): entry [b, k, s] is the distribution of
        codes[b, k, s], read at delayed position s + k."""
        from transformers.modeling_outputs import BaseModelOutput

        batch, books, frames = codes.shape
        ids = self.delayed_input(codes).reshape(batch * books, -1)
        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=cond["hidden"]),
            attention_mask=cond["mask"],
            decoder_input_ids=ids,
        ).logits
        log_probs = out.float().log_softmax(dim=-1).view(batch, books, -1, self.vocab_size)
        steps = torch.arange(frames, device=codes.device)
        position = steps[None, :] + torch.arange(books, device=codes.device)[:, None]
        index = position[None, :, :, None].expand(batch, books, frames, self.vocab_size)
        return log_probs.gather(2, index)
