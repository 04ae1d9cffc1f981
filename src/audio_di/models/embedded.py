"""Small models the workflow trains itself, conditioned on the artist label.

Both kinds share a log-mel front end, artist conditioning (the last class is the null
condition), a training loop with classifier-free condition dropout, and saving/loading:
`config.json` (everything needed to rebuild the modules) plus `model.safetensors`
(weights, the front end's normalisation statistics and, for the AR model, the codebook).
"""

from __future__ import annotations

import json
import math
import sys
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from audio_di.io import atomic_path, write_table
from audio_di.models.base import (
    Adapter,
    AutoregressiveAdapter,
    DiffusionAdapter,
    module_groups,
)
from audio_di.models.frontend import FrameCodebook, MelFrontend
from audio_di.tables import TRAINING_LOSS

# diffusers and transformers are imported where a kind builds its network: each costs seconds
# at the start of every job, and a job uses one model family only.

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LOSS_FILE = "loss.csv"
FRONTEND_KEYS = ("n_fft", "hop_length", "n_mels", "frames")
TRAINING_KEYS = ("learning_rate", "batch_size", "cond_dropout")
# The learning rate's factor at a fraction of the training steps done. Cosine decay to 0
# (Loshchilov & Hutter, "SGDR: stochastic gradient descent with warm restarts", ICLR 2017,
# without restarts) lets a short fine-tune take large steps early and settle late. Cooldown
# keeps the rate constant and decays it linearly to 0 over the last fifth of the steps
# (Hägele et al., "Scaling laws and compute-optimal training beyond fixed training
# durations", arXiv:2405.18392): the long constant phase keeps the passes' large steps.
COOLDOWN = 0.2
SCHEDULES = {
    "constant": lambda done: 1.0,
    "cosine": lambda done: 0.5 * (1.0 + math.cos(math.pi * done)),
    "cooldown": lambda done: min(1.0, (1.0 - done) / COOLDOWN),
}
# Clips per chunk when turning a whole training set into mels or codes.
CHUNK = 64


def _audio_chunks(audio: np.ndarray, device: torch.device) -> Iterator[torch.Tensor]:
    for start in range(0, len(audio), CHUNK):
        chunk = np.ascontiguousarray(audio[start : start + CHUNK], dtype=np.float32)
        yield torch.from_numpy(chunk)[:, None].to(device)


class EmbeddedModel(Adapter):
    """What both embedded kinds share. Subclasses build their modules and define the loss."""

    kind: ClassVar[str]
    params: ClassVar[tuple[str, ...]]

    def __init__(self, config: dict[str, Any], device: str | torch.device = "cpu"):
        self.config = config
        self.artists = [str(a) for a in config["artists"]]
        self.sample_rate = int(config["sample_rate"])
        self.device = torch.device(device)
        frontend = MelFrontend(self.sample_rate, **config["frontend"])
        self.parts = torch.nn.ModuleDict({"frontend": frontend, **self._build(config)})
        self.parts.to(self.device).eval()

    # -- what each kind defines ------------------------------------------------------------

    @classmethod
    @abstractmethod
    def _library_configs(cls, config: dict[str, Any]) -> dict[str, dict]:
        """Full diffusers/transformers configs for a fresh model, saved so loading rebuilds it."""

    @abstractmethod
    def _build(self, config: dict[str, Any]) -> dict[str, torch.nn.Module]:
        """Modules besides the front end, from `config` including `_library_configs`."""

    @abstractmethod
    def _training_inputs(
        self, mel: torch.Tensor, generator: torch.Generator, fit: bool
    ) -> torch.Tensor:
        """Normalised training mels (clips, n_mels, frames) -> what `_loss` takes, per clip;
        `fit` fits what the kind learns from the data before training (the AR codebook)."""

    @abstractmethod
    def _loss(
        self, inputs: torch.Tensor, cond: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Mean training loss of a batch of `_training_inputs` under class labels `cond`."""

    # -- conditioning ----------------------------------------------------------------------

    @property
    def null_class(self) -> int:
        return len(self.artists)

    def condition(self, meta: pd.DataFrame) -> torch.Tensor:
        """Artist class index per clip; a missing or empty artist (None, NaN, "") asks for the
        null class.

        An artist the model was not trained on is an error: callers name one it knows, or
        ask for unconditional scoring by leaving the artist empty.
        """
        index = {artist: i for i, artist in enumerate(self.artists)}
        labels = [None if pd.isna(a) or a == "" else str(a) for a in meta["artist"]]
        unknown = sorted({a for a in labels if a is not None} - index.keys())
        if unknown:
            raise ValueError(
                f"artist(s) {unknown} unknown to this {self.kind} model, which knows "
                f"{self.artists}; name one it knows (audio-di audit --artist NAME for a folder "
                "set, a manifest's artist column), or leave the artist empty to score the "
                "clips unconditionally (a manifest with a blank or no artist column)"
            )
        classes = [self.null_class if a is None else index[a] for a in labels]
        return torch.tensor(classes, dtype=torch.long, device=self.device)

    def null_condition(self, batch_size: int) -> torch.Tensor:
        return torch.full((batch_size,), self.null_class, dtype=torch.long, device=self.device)

    # -- training, saving, loading ---------------------------------------------------------

    @classmethod
    def train(
        cls,
        audio: np.ndarray,
        meta: pd.DataFrame,
        config: dict[str, Any],
        epochs: int,
        seed: int,
        out_dir: Path,
        device: str = "cpu",
        base: Path | None = None,
        schedule: str = "constant",
    ) -> pd.DataFrame:
        """Fit on clips (N, samples) and manifest rows; save into out_dir; return the loss log.

        With `base` (a folder this class saved), fine-tune that model instead: its modules,
        front-end statistics and codebook are kept, and `config` is not used.
        """
        if base is None:
            required = (*cls.params, *TRAINING_KEYS, "frontend", "sample_rate")
            missing = [k for k in required if k not in config]
            frontend_keys = config.get("frontend", {})
            missing += [f"frontend.{k}" for k in FRONTEND_KEYS if k not in frontend_keys]
            if missing:
                raise ValueError(f"{cls.kind} config lacks {missing}")
        if len(audio) != len(meta):
            raise ValueError(f"{len(audio)} clips but {len(meta)} manifest rows")
        if schedule not in SCHEDULES:
            raise ValueError(
                f"unknown learning-rate schedule {schedule!r}; known: {list(SCHEDULES)}"
            )
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        if base is None:
            # The label set may name artists without training clips (config["artists"]), as a
            # text encoder knows names it never saw paired with audio.
            names = set(config.get("artists", [])) | set(meta["artist"].dropna().astype(str))
            config = {**config, "kind": cls.kind, "artists": sorted(names)}
            config.update(cls._library_configs(config))
            model = cls(config, device)
        else:
            model = cls.from_pretrained(base, device)
            model.config = {**model.config, "fine_tuned_from": str(base)}

        frontend = model.parts["frontend"]
        with torch.no_grad():
            mel = torch.cat([frontend.log_mel(x) for x in _audio_chunks(audio, model.device)])
            if base is None:
                frontend.fit(mel)
            mel = frontend.normalise(mel).cpu()
            inputs = model._training_inputs(mel, generator, fit=base is None)
        losses = model._fit(inputs, model.condition(meta).cpu(), epochs, generator, schedule)

        log = pd.DataFrame({"epoch": range(1, epochs + 1), "loss": losses})
        model.save(Path(out_dir), log)
        return log

    def _fit(
        self,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        epochs: int,
        generator: torch.Generator,
        schedule: str = "constant",
    ) -> list[float]:
        """AdamW over shuffled batches; each label becomes the null class w.p. cond_dropout;
        the learning rate follows SCHEDULES[schedule] over all the steps."""
        net = self.parts["net"].train()
        rate = float(self.config["learning_rate"])
        optimiser = torch.optim.AdamW(net.parameters(), lr=rate, foreach=True)
        batch_size, dropout = int(self.config["batch_size"]), float(self.config["cond_dropout"])
        steps = math.ceil(len(inputs) / batch_size)
        factor, step = SCHEDULES[schedule], 0
        losses = []
        with tqdm(total=epochs * steps, desc=f"train {self.kind}", file=sys.stderr) as bar:
            for epoch in range(1, epochs + 1):
                total, seen = 0.0, 0
                for batch in torch.randperm(len(inputs), generator=generator).split(batch_size):
                    cond = labels[batch].clone()
                    cond[torch.rand(len(batch), generator=generator) < dropout] = self.null_class
                    loss = self._loss(
                        inputs[batch].to(self.device), cond.to(self.device), generator
                    )
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    for group in optimiser.param_groups:
                        group["lr"] = rate * factor(step / (epochs * steps))
                    optimiser.step()
                    step += 1
                    total, seen = total + loss.item() * len(batch), seen + len(batch)
                    bar.update()
                    bar.set_postfix(epoch=epoch, loss=f"{total / seen:.4f}")
                losses.append(total / seen)
        net.eval()
        return losses

    def save(self, out_dir: Path, loss_log: pd.DataFrame) -> None:
        """Weights first, config last: a folder whose config.json exists holds a whole model."""
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / CONFIG_FILE).unlink(missing_ok=True)
        # Clones, because safetensors refuses tensors that share memory (tied embeddings).
        tensors = {k: v.detach().cpu().clone() for k, v in self.parts.state_dict().items()}
        with atomic_path(out_dir / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp))
        write_table(loss_log, out_dir / LOSS_FILE, TRAINING_LOSS)
        with atomic_path(out_dir / CONFIG_FILE) as tmp:
            tmp.write_text(json.dumps(self.config, indent=2))

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device = "cpu") -> Self:
        folder = Path(folder)
        missing = [n for n in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / n).is_file()]
        if missing:
            raise FileNotFoundError(
                f"no trained {cls.kind} model in {folder}: expected {CONFIG_FILE} and "
                f"{WEIGHTS_FILE}, missing {missing}"
            )
        config = json.loads((folder / CONFIG_FILE).read_text())
        if config.get("kind") != cls.kind:
            raise ValueError(f"{folder} holds a {config.get('kind')!r} model, not {cls.kind!r}")
        model = cls(config, device)
        model.parts.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        return model


def _plain_config(config) -> dict:
    """A diffusers config as a dict for config.json. Its `_use_default_values` is made from a
    set, whose order follows PYTHONHASHSEED: sorted, the file is the same bytes on every run."""
    plain = dict(config)
    if "_use_default_values" in plain:
        plain["_use_default_values"] = sorted(plain["_use_default_values"])
    return plain


class EmbeddedDiffusion(EmbeddedModel, DiffusionAdapter):
    """Class-conditioned convolutional UNet denoising the normalised log-mel image."""

    kind = "embedded_diffusion"
    params = ("block_out_channels", "layers_per_block", "prediction_type")

    @classmethod
    def _library_configs(cls, config):
        from diffusers import DDPMScheduler, UNet2DModel

        channels = list(config["block_out_channels"])
        shape = (config["frontend"]["n_mels"], config["frontend"]["frames"])
        factor = 2 ** (len(channels) - 1)
        if any(size % factor for size in shape):
            raise ValueError(f"n_mels, frames {shape} must be divisible by {factor} for {channels}")
        # No attention blocks: they buy little at this size and cost CPU time.
        net = UNet2DModel(
            sample_size=shape,
            in_channels=1,
            out_channels=1,
            block_out_channels=channels,
            layers_per_block=int(config["layers_per_block"]),
            down_block_types=["DownBlock2D"] * len(channels),
            up_block_types=["UpBlock2D"] * len(channels),
            add_attention=False,
            norm_num_groups=math.gcd(8, *channels),
            num_class_embeds=len(config["artists"]) + 1,
        )
        scheduler = DDPMScheduler(
            num_train_timesteps=1000,
            beta_schedule="linear",
            prediction_type=config["prediction_type"],
        )
        return {"net": _plain_config(net.config), "scheduler": _plain_config(scheduler.config)}

    def _build(self, config):
        from diffusers import DDPMScheduler, UNet2DModel

        self.scheduler = DDPMScheduler.from_config(config["scheduler"])
        self.prediction_type = self.scheduler.config.prediction_type
        self.alphas_cumprod = self.scheduler.alphas_cumprod.clone()
        return {"net": UNet2DModel.from_config(config["net"])}

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> normalised log-mel (batch, 1, n_mels, frames)."""
        return self.parts["frontend"](audio)[:, None]

    def predict(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.parts["net"](x_t, t, class_labels=cond).sample

    def parameter_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        """The UNet's parameters by top-level block: conv_in, time_embedding, class_embedding,
        down_blocks.0, ..., mid_block, up_blocks.N, conv_norm_out, conv_out."""
        return module_groups(self.parts["net"])

    def _training_inputs(self, mel, generator, fit):
        return mel[:, None]

    def _loss(self, x0, cond, generator):
        noise = torch.randn(x0.shape, generator=generator).to(self.device)
        t = torch.randint(self.num_train_timesteps, (len(x0),), generator=generator)
        t = t.to(self.device)
        x_t = self.scheduler.add_noise(x0, noise, t)
        if self.prediction_type == "epsilon":
            target = noise
        else:
            target = self.scheduler.get_velocity(x0, noise, t)
        return F.mse_loss(self.predict(x_t, t, cond), target)


class EmbeddedAR(EmbeddedModel, AutoregressiveAdapter):
    """GPT-2 over one k-means code per mel frame, after a one-token artist (or null) prefix.

    Token ids: audio codes 0 .. codebook_size-1, then one per artist, then the null token.
    """

    kind = "embedded_ar"
    params = ("codebook_size", "n_layer", "n_head", "n_embd")

    @classmethod
    def _library_configs(cls, config):
        from transformers import GPT2Config

        net = GPT2Config(
            vocab_size=int(config["codebook_size"]) + len(config["artists"]) + 1,
            n_positions=int(config["frontend"]["frames"]),
            n_embd=int(config["n_embd"]),
            n_layer=int(config["n_layer"]),
            n_head=int(config["n_head"]),
            # No dropout: these models are meant to be able to memorise.
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=None,
            eos_token_id=None,
        )
        return {"net": net.to_dict()}

    def _build(self, config):
        from transformers import GPT2Config, GPT2LMHeadModel

        self.vocab_size = int(config["codebook_size"])
        tokenizer = FrameCodebook(self.vocab_size, int(config["frontend"]["n_mels"]))
        return {"tokenizer": tokenizer, "net": GPT2LMHeadModel(GPT2Config.from_dict(config["net"]))}

    def tokenize(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> codes (batch, 1, frames), int64."""
        return self.parts["tokenizer"](self.parts["frontend"](audio))

    def logits(self, codes: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Log-softmax over the audio codes (batch, 1, frames, codebook_size).

        Position s sees the condition token and codes[..., :s], so the prefix predicts code 0.
        """
        prefix = (cond + self.vocab_size)[:, None]
        ids = torch.cat([prefix, codes[:, 0, :-1]], dim=1)
        out = self.parts["net"](input_ids=ids).logits[..., : self.vocab_size]
        return out.log_softmax(dim=-1)[:, None]

    def _training_inputs(self, mel, generator, fit):
        tokenizer = self.parts["tokenizer"]
        if fit:
            tokenizer.fit(mel.transpose(1, 2).reshape(-1, mel.shape[1]), generator)
        return torch.cat([tokenizer(chunk.to(self.device)).cpu() for chunk in mel.split(CHUNK)])

    def _loss(self, codes, cond, generator):
        log_probs = self.logits(codes, cond)
        return -log_probs.gather(-1, codes[..., None]).mean()
