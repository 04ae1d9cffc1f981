"""MusicGen, AudioLDM2 and Stable Audio adapters on tiny random checkpoints saved like real ones."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from audio_di.attacks.extraction import extract_features
from audio_di.audio import conform
from audio_di.corpus.manifest import corpus_audio
from audio_di.io import write_table
from audio_di.models import load_adapter
from audio_di.models.audioldm2 import normalise
from audio_di.models.pretrained import PROMPT_TEMPLATE, prompts
from audio_di.models.stable_audio import STEPS
from audio_di.tables import CORPUS_MANIFEST
from audio_di.testing import save_random_checkpoint

SECONDS = 0.25


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models run many small ops, which extra threads slow down (several-fold on a
    busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def adapters(pretrained_folders):
    return {
        kind: load_adapter({"kind": kind, "source": str(folder)})
        for kind, folder in pretrained_folders.items()
    }


def clips(adapter, n: int, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Mono tone mixtures at the adapter's rate; clip 0 has a caption, the last no artist."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS * adapter.sample_rate)) / adapter.sample_rate
    freqs = rng.uniform(100, 0.2 * adapter.sample_rate, (n, 3))
    audio = 0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(axis=1)
    audio += 0.01 * rng.standard_normal(audio.shape)
    meta = pd.DataFrame(
        {
            "clip_id": [f"c{seed}_{i}" for i in range(n)],
            "artist": [f"artist {i % 2}" for i in range(n - 1)] + [None],
            "caption": ["solo piano, slow"] + [""] * (n - 1),
        }
    )
    return audio.astype(np.float32), meta


def test_sizes_and_formats_come_from_the_model(adapters):
    assert {k: (a.sample_rate, a.channels) for k, a in adapters.items()} == {
        "musicgen": (8000, 1),
        "audioldm2": (16000, 1),
        "stable_audio": (8000, 2),
    }
    assert adapters["musicgen"].num_codebooks == 4


def test_seeded_checkpoints_are_identical(pretrained_folders, tmp_path):
    save_random_checkpoint("stable_audio", tmp_path)
    name = "transformer/diffusion_pytorch_model.safetensors"
    saved, again = load_file(pretrained_folders["stable_audio"] / name), load_file(tmp_path / name)
    assert saved.keys() == again.keys()
    assert all(torch.equal(saved[k], again[k]) for k in saved)


def test_prompts_use_caption_then_artist_then_nothing():
    meta = pd.DataFrame(
        {"artist": ["A", "B", None, float("nan")], "caption": [" jazz trio ", "", None, "x"]}
    )
    assert prompts(meta) == ["jazz trio", PROMPT_TEMPLATE.format(artist="B"), "", "x"]
    assert prompts(pd.DataFrame({"artist": ["C"]})) == [PROMPT_TEMPLATE.format(artist="C")]


# -- MusicGen's delay pattern ---------------------------------------------------------------------


def test_delayed_input_matches_transformers_delay_pattern(adapters):
    adapter = adapters["musicgen"]
    decoder = adapter.model.decoder
    codes = torch.randint(adapter.vocab_size, (2, adapter.num_codebooks, 7))
    batch, books, frames = codes.shape
    start = torch.full((batch * books, 1), adapter.start_id)
    prompt = torch.cat([start, codes.reshape(batch * books, frames)], dim=1)
    # The pattern mask holds every code at its delayed place, pads elsewhere (-1 would mark
    # a step left to generate; with the whole prompt given there is none).
    _, pattern = decoder.build_delay_pattern_mask(
        prompt, pad_token_id=adapter.pad_id, max_length=frames + books
    )
    theirs = pattern.view(batch, books, -1)
    assert (theirs >= 0).all()
    ours = adapter.delayed_input(codes)
    # transformers' pattern also holds the last delayed step, which only a next step would see.
    torch.testing.assert_close(ours, theirs[..., : ours.shape[-1]])


def test_musicgen_log_probs_line_up_with_undelayed_codes(adapters):
    """Code (k, s) sits at delayed step s + k: changing it may change the scores of codes at
    later delayed steps only, and its own score is the model's output there."""
    adapter = adapters["musicgen"]
    _, meta = clips(adapter, 1)
    codes = torch.randint(adapter.vocab_size, (1, adapter.num_codebooks, 12))
    with torch.inference_mode():
        cond = adapter.condition(meta)
        base = adapter.logits(codes, cond)
        k, s = 2, 5
        changed = codes.clone()
        changed[0, k, s] = (codes[0, k, s] + 1) % adapter.vocab_size
        after = adapter.logits(changed, cond)
        raw = adapter.model(
            encoder_outputs=(cond["hidden"],),
            attention_mask=cond["mask"],
            decoder_input_ids=adapter.delayed_input(codes).view(adapter.num_codebooks, -1),
        ).logits.log_softmax(-1)
    books = torch.arange(adapter.num_codebooks)[:, None]
    step = books + torch.arange(codes.shape[-1])[None, :]
    same = (after - base).abs().amax(dim=-1)[0] < 1e-5
    assert torch.equal(same[step <= s + k], torch.ones(int((step <= s + k).sum()), dtype=bool))
    assert not same[step == s + k + 1].all()
    torch.testing.assert_close(base[0, k, s], raw[k, s + k])
    torch.testing.assert_close(base[0, 0, 0], raw[0, 0])


# -- Stable Audio's v-objective ----------------------------------------------------------------


def test_stable_audio_grid_is_the_schedulers_cosine_schedule(adapters):
    """abar_t and the transformer's timestep against the pipeline scheduler's EDM form:
    sigma = sqrt(1 / abar - 1), input x_sigma / sqrt(1 + sigma^2), timestep atan(sigma) 2 / pi,
    and x0 = c_skip x_sigma + c_out v."""
    adapter = adapters["stable_audio"]
    scheduler = adapter.pipe.scheduler
    t = torch.tensor([1, 250, 500, 900, STEPS - 1])
    abar = adapter.alphas_cumprod[t].double()
    sigma = (1 / abar - 1).sqrt()
    # abar is stored in float32, which limits sigma's precision near t = 0.
    torch.testing.assert_close(
        scheduler.precondition_noise(sigma), adapter.continuous_time(t), atol=1e-5, rtol=1e-4
    )
    x0, eps = torch.randn(5, 4, 6, dtype=torch.float64), torch.randn(5, 4, 6, dtype=torch.float64)
    view = (-1, 1, 1)
    x_sigma = x0 + sigma.view(view) * eps
    x_t = abar.sqrt().view(view) * x0 + (1 - abar).sqrt().view(view) * eps
    torch.testing.assert_close(scheduler.precondition_inputs(x_sigma, sigma.view(view)), x_t)
    v = abar.sqrt().view(view) * eps - (1 - abar).sqrt().view(view) * x0
    denoised = scheduler.precondition_outputs(x_sigma, v, sigma.view(view))
    torch.testing.assert_close(denoised, x0)


def test_stable_audio_epsilon_from_v(adapters, monkeypatch):
    adapter = adapters["stable_audio"]
    t = torch.tensor([0, 10, 400, 999])
    abar = adapter.alphas_cumprod[t].view(-1, 1, 1)
    x0, eps = torch.randn(4, 4, 8), torch.randn(4, 4, 8)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    v = abar.sqrt() * eps - (1 - abar).sqrt() * x0
    monkeypatch.setattr(adapter, "predict", lambda x, steps, cond: v)
    torch.testing.assert_close(adapter.epsilon(x_t, t, None), eps, atol=1e-5, rtol=1e-5)
    assert adapter.prediction_type == "v_prediction"
    assert adapter.alphas_cumprod[0] == 1 and adapter.alphas_cumprod[-1] < 1e-5


def durations(adapter, x0: torch.Tensor, meta: pd.DataFrame) -> tuple[list, list, torch.Tensor]:
    """(start_seconds, end_seconds) that predict gives the projection model, and its output."""
    calls = []
    hook = adapter.pipe.projection_model.register_forward_hook(
        lambda m, args, kw, out: calls.append(kw), with_kwargs=True
    )
    try:
        with torch.inference_mode():
            out = adapter.predict(x0, torch.tensor([100] * len(x0)), adapter.condition(meta))
    finally:
        hook.remove()
    (kw,) = [c for c in calls if "end_seconds" in c]
    return kw["start_seconds"].tolist(), kw["end_seconds"].tolist(), out


def test_stable_audio_scores_a_short_clip_on_the_padded_window(adapters):
    """As stable-audio-tools' PadCrop_Normalized_T presented a file shorter than the window:
    the clip at the start of sample_size zero samples, all of them through the VAE and the
    transformer, with seconds_start 0 and seconds_total the clip's length rounded up."""
    adapter = adapters["stable_audio"]
    vae, frames = adapter.pipe.vae, adapter.pipe.transformer.config.sample_size
    window = frames * vae.hop_length
    samples = adapter.sample_rate + 100  # 1.0125 s, under the 1.024 s window
    _, meta = clips(adapter, 2)
    audio = 0.1 * torch.randn(2, 2, samples, generator=torch.Generator().manual_seed(0))
    padded = torch.zeros(2, 2, window)
    padded[..., :samples] = audio
    with torch.inference_mode():
        x0 = adapter.encode(audio)
        expected = vae.encode(padded).latent_dist.mean
    torch.testing.assert_close(x0, expected)
    start, end, out = durations(adapter, x0, meta)
    assert out.shape == x0.shape == (2, vae.config.decoder_input_channels, frames)
    assert start == [0, 0] and end == [2, 2]


def test_stable_audio_window_clip_scores_the_clip_alone(pretrained_folders):
    """window: clip, the earlier behaviour: a latent as long as the clip, seconds_end its
    length from the latent's frames."""
    spec = {
        "kind": "stable_audio",
        "source": str(pretrained_folders["stable_audio"]),
        "window": "clip",
    }
    adapter = load_adapter(spec)
    _, meta = clips(adapter, 1)
    with torch.inference_mode():
        x0 = adapter.encode(torch.zeros(1, 2, 2 * adapter.sample_rate))
    start, end, _ = durations(adapter, x0, meta)
    assert x0.shape[-1] == 2 * adapter.sample_rate // adapter.pipe.vae.hop_length
    assert start == [0] and end == pytest.approx([2.0])


def test_stable_audio_refuses_clips_longer_than_the_window(adapters):
    adapter = adapters["stable_audio"]
    too_long = torch.zeros(1, 2, adapter.sample_rate * 3 // 2)
    with pytest.raises(ValueError, match=r"1\.50 s are longer than .* of 1\.02 s.*window: clip"):
        adapter.encode(too_long)


# -- AudioLDM2 ------------------------------------------------------------------------------------


def authors_normalize_wav(waveform: np.ndarray) -> np.ndarray:
    """normalize_wav of the AudioLDM data code (haoheliu/AudioLDM2
    audioldm2/utilities/data/dataset.py), on one mono waveform."""
    waveform = waveform - np.mean(waveform)
    waveform = waveform / (np.max(np.abs(waveform)) + 1e-8)
    return waveform * 0.5


def test_audioldm2_normalises_each_clip_as_the_authors_data_code(adapters):
    """Each clip's mel is that of its waveform with the mean removed and the peak at 0.5,
    so a clip's level and offset no longer change its latent."""
    adapter = adapters["audioldm2"]
    audio, _ = clips(adapter, 2)
    audio[0] = 3 * audio[0] + 0.2
    expected = np.stack([authors_normalize_wav(clip) for clip in audio]).astype(np.float32)
    np.testing.assert_allclose(normalise(torch.from_numpy(audio)), expected, atol=1e-6)
    batch = torch.from_numpy(audio)[:, None]
    with torch.inference_mode():
        mel = adapter.log_mel(batch)
        theirs = adapter.mel(torch.from_numpy(expected)).clamp_min(1e-5).log()
        quieter = adapter.log_mel(0.1 * batch - 0.05)
    torch.testing.assert_close(mel[:, 0], theirs[..., : mel.shape[2]].transpose(1, 2))
    torch.testing.assert_close(quieter, mel, atol=1e-4, rtol=1e-4)


def test_audioldm2_prompt_encoding_matches_the_pipeline(adapters):
    """The adapter's generation loop against the pipeline's own encode_prompt, which runs
    when the language model is a GPT2LMHeadModel (same weights)."""
    from transformers import GPT2LMHeadModel

    adapter = adapters["audioldm2"]
    pipe = adapter.pipe
    plain = pipe.language_model
    with_head = GPT2LMHeadModel(plain.config).eval()
    with_head.transformer.load_state_dict(plain.state_dict())
    t5, generated = adapter._encode_prompt("a string quartet")
    pipe.language_model = with_head
    try:
        with torch.inference_mode():
            their_t5, mask, their_generated = pipe.encode_prompt(
                prompt=["a string quartet"],
                device="cpu",
                num_waveforms_per_prompt=1,
                do_classifier_free_guidance=False,
            )
    finally:
        pipe.language_model = plain
    assert mask.all()
    torch.testing.assert_close(t5, their_t5[0])
    torch.testing.assert_close(generated, their_generated[0], rtol=1e-4, atol=1e-5)


def test_audioldm2_latent_is_the_scaled_vae_mean_of_the_mel(adapters):
    adapter = adapters["audioldm2"]
    audio = torch.randn(2, 1, adapter.sample_rate // 2) * 0.1
    with torch.inference_mode():
        mel = adapter.log_mel(audio)
        x0 = adapter.encode(audio)
        mean = adapter.pipe.vae.encode(mel).latent_dist.mean
    factor = adapter.pipe.vae_scale_factor
    assert mel.shape[1] == 1 and mel.shape[2] % factor == 0
    assert mel.shape[3] == adapter.pipe.vocoder.config.model_in_dim
    torch.testing.assert_close(x0, mean * adapter.pipe.vae.config.scaling_factor)
    assert adapter.prediction_type == adapter.pipe.scheduler.config.prediction_type


# -- MusicGen's null condition ---------------------------------------------------------------------


def test_musicgen_null_is_transformers_unconditional_input(adapters):
    adapter = adapters["musicgen"]
    unconditional = adapter.model.get_unconditional_inputs(3)
    null = adapter.null_condition(3)
    assert torch.equal(null["hidden"], unconditional.encoder_outputs[0])
    assert torch.equal(null["mask"], unconditional.attention_mask)


def test_musicgen_scores_a_clip_without_text_under_the_null(adapters):
    """audiocraft's T5Conditioner gives an empty description mask 0 and zero states."""
    adapter = adapters["musicgen"]
    _, meta = clips(adapter, 3)  # the last clip has neither caption nor artist
    codes = torch.randint(adapter.vocab_size, (3, adapter.num_codebooks, 8))
    with torch.inference_mode():
        cond = adapter.condition(meta)
        scored = adapter.logits(codes, cond)
        null = adapter.logits(codes[2:], adapter.null_condition(1))
    assert cond["mask"][:2, 0].all()  # the other two have text
    assert not cond["mask"][2].any() and not cond["hidden"][2].any()
    torch.testing.assert_close(scored[2:], null)


# -- VAE latents ----------------------------------------------------------------------------------


# The standard deviation of each clip's latent under its VAE posterior.
POSTERIOR_STD = {
    "audioldm2": lambda adapter, audio: (
        adapter.pipe.vae.encode(adapter.log_mel(audio)).latent_dist.std
        * adapter.pipe.vae.config.scaling_factor
    ),
    "stable_audio": lambda adapter, audio: (
        adapter.pipe.vae.encode(
            torch.nn.functional.pad(audio, (0, adapter.window_samples - audio.shape[-1]))
        ).latent_dist.std
    ),
}


@pytest.mark.parametrize("kind", ["audioldm2", "stable_audio"])
def test_latent_sample_is_a_posterior_draw_fixed_by_the_clip(kind, adapters, pretrained_folders):
    """latent: sample draws from the posterior, as training did, with noise fixed by the clip's
    audio (the same on a rerun and in any batch); the default is the posterior mean."""
    default = adapters[kind]
    drawn = load_adapter(
        {"kind": kind, "source": str(pretrained_folders[kind]), "latent": "sample"}
    )
    audio, _ = clips(default, 3)
    batch = torch.from_numpy(audio)[:, None].expand(-1, default.channels, -1)
    with torch.inference_mode():
        centre, sample = default.encode(batch), drawn.encode(batch)
        again, alone = drawn.encode(batch), drawn.encode(batch[2:])
        noise = (sample - centre) / POSTERIOR_STD[kind](default, batch)
    assert torch.equal(sample, again)
    torch.testing.assert_close(alone, sample[2:])
    assert abs(noise.mean().item()) < 0.1 and 0.9 < noise.std().item() < 1.1
    with pytest.raises(ValueError, match=r"latent must be one of \['mean', 'sample'\], got 'mode'"):
        load_adapter({"kind": kind, "source": str(pretrained_folders[kind]), "latent": "mode"})


def test_settings_reach_only_the_kinds_that_take_them(pretrained_folders):
    with pytest.raises(ValueError, match=r"musicgen models take no \['latent', 'window'\]"):
        spec = {"kind": "musicgen", "source": str(pretrained_folders["musicgen"])}
        load_adapter(spec | {"window": "clip", "latent": "mean"})
    with pytest.raises(ValueError, match=r"window must be one of \['padded', 'clip'\]"):
        load_adapter(
            {
                "kind": "stable_audio",
                "source": str(pretrained_folders["stable_audio"]),
                "window": "full",
            }
        )


# -- loading rules --------------------------------------------------------------------------------


def test_dtype_is_honoured(pretrained_folders):
    adapter = load_adapter(
        {
            "kind": "stable_audio",
            "source": str(pretrained_folders["stable_audio"]),
            "dtype": "bfloat16",
        }
    )
    audio, meta = clips(adapter, 2)
    with torch.inference_mode():
        x0 = adapter.encode(torch.from_numpy(audio)[:, None].expand(-1, 2, -1))
        out = adapter.predict(x0, torch.tensor([100, 200]), adapter.condition(meta))
    assert x0.dtype == out.dtype == torch.bfloat16
    assert torch.isfinite(out).all()
    with pytest.raises(ValueError, match="dtype must be one of"):
        load_adapter(
            {"kind": "musicgen", "source": str(pretrained_folders["musicgen"]), "dtype": "int8"}
        )


def test_missing_folder_names_source(tmp_path):
    source = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=f"no MusicGen checkpoint at {source}.*config.json"):
        load_adapter({"kind": "musicgen", "source": source})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="model_index.json with _class_name"):
        load_adapter({"kind": "audioldm2", "source": str(empty)})


@pytest.mark.parametrize(
    ("kind", "other", "expected"),
    [
        ("musicgen", "stable_audio", "config.json"),
        ("stable_audio", "audioldm2", "'StableAudioPipeline'"),
        ("audioldm2", "stable_audio", "'AudioLDM2Pipeline'"),
        ("musicgen", "audioldm2/text_encoder_2", "model_type 't5', expected 'musicgen'"),
    ],
)
def test_wrong_model_type_names_source(kind, other, expected, pretrained_folders):
    top, _, sub = other.partition("/")
    source = str(pretrained_folders[top] / sub)
    with pytest.raises((ValueError, FileNotFoundError), match=expected) as err:
        load_adapter({"kind": kind, "source": source})
    assert source in str(err.value)


def test_pickled_weights_are_refused(pretrained_folders, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(pretrained_folders["stable_audio"], folder)
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    torch.save(load_file(weights), weights.with_suffix(".bin"))
    weights.unlink()
    with pytest.raises(ValueError, match=r"vae has only pickled weights.*safetensors") as err:
        load_adapter({"kind": "stable_audio", "source": str(folder)})
    assert str(folder) in str(err.value)


def test_offline_hub_id_names_source(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(OSError, match="'facebook/musicgen-small'.*HF_HUB_OFFLINE"):
        load_adapter({"kind": "musicgen", "source": "facebook/musicgen-small"})


def test_auto_device_resolves(pretrained_folders, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = {"kind": "musicgen", "source": str(pretrained_folders["musicgen"]), "device": "auto"}
    assert load_adapter(spec).device == torch.device("cpu")


# -- resampling and channels ---------------------------------------------------------------------


def test_conform_resamples_and_mixes_channels():
    rate = 16000
    t = np.arange(rate) / rate
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, right]).astype(np.float32)
    mono = conform(stereo, rate, 8000, 1)
    assert mono.shape == (8000,)
    np.testing.assert_allclose(mono[100:-100], 0.75 * left[::2][100:-100], atol=2e-3)
    up = conform(mono, 8000, 44100, 2)
    assert up.shape == (2, 44100) and np.array_equal(up[0], up[1])
    assert conform(stereo, rate, rate, 2) is not None
    np.testing.assert_array_equal(conform(stereo, rate, rate, 2), stereo)
    surround = np.tile(left.astype(np.float32), (6, 1))
    assert conform(surround, rate, rate, 2).shape == (2, rate)
    with pytest.raises(ValueError, match="channels must be at least 1"):
        conform(stereo, rate, rate, 0)


def test_adapter_scores_any_rate_after_conform(adapters):
    """A 44.1 kHz stereo clip brought to the model's format scores like the model-rate clip."""
    adapter = adapters["audioldm2"]
    rate = 44100
    t = np.arange(int(SECONDS * rate)) / rate
    stereo = np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 660 * t)]) * 0.3
    audio = conform(stereo.astype(np.float32), rate, adapter.sample_rate, adapter.channels)
    meta = pd.DataFrame({"clip_id": ["x"], "artist": ["A"], "caption": [""]})
    table = extract_features(adapter, audio[None], meta, {"denoising_loss": {}}, batch_size=1)
    assert len(audio) == int(SECONDS * adapter.sample_rate)
    assert np.isfinite(table.iloc[:, 1:].to_numpy()).all()
    assert not math.isnan(table["denoising_loss__mean"].iloc[0])


def test_stereo_clips_reach_a_stereo_model(adapters):
    """(clips, channels, samples) audio is scored as given; a mono clip equals its copy on
    both channels; a channel count the model does not take is refused."""
    adapter = adapters["stable_audio"]
    audio, meta = clips(adapter, 2)
    attacks = {"denoising_loss": {"timesteps": [200], "draws": 1}}
    mono = extract_features(adapter, audio, meta, attacks, batch_size=2)
    doubled = np.repeat(audio[:, None], 2, axis=1)
    same = extract_features(adapter, doubled, meta, attacks, batch_size=2)
    np.testing.assert_allclose(same.iloc[:, 1:], mono.iloc[:, 1:], rtol=1e-6)
    doubled[:, 1] = doubled[:, 1, ::-1]
    stereo = extract_features(adapter, doubled, meta, attacks, batch_size=2)
    assert not np.allclose(stereo.iloc[:, 1:], mono.iloc[:, 1:])
    with pytest.raises(ValueError, match="audio has 3 channels; StableAudio takes 2"):
        extract_features(adapter, np.repeat(audio[:, None], 3, axis=1), meta, attacks, 2)


def test_corpus_audio_brings_clips_to_the_models_format(tmp_path):
    rate = 22050
    t = np.arange(rate // 2) / rate
    left, right = np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)
    sf.write(tmp_path / "stereo.flac", np.stack([left, right], axis=1) * 0.5, rate)
    sf.write(tmp_path / "mono.wav", left * 0.5, rate)
    manifest = tmp_path / "manifest.csv"
    rows = {"clip_id": ["s", "m"], "path": ["stereo.flac", "mono.wav"], "sample_rate": rate}
    table = pd.DataFrame(rows).reindex(columns=list(CORPUS_MANIFEST.columns))
    write_table(table, manifest, CORPUS_MANIFEST)
    ids = pd.Series(["m", "s"])
    stereo = corpus_audio(manifest, ids, 8000, channels=2)
    assert stereo.shape == (2, 2, 4000)
    np.testing.assert_array_equal(stereo[0, 0], stereo[0, 1])  # mono file, upmixed
    assert not np.allclose(stereo[1, 0], stereo[1, 1])  # stereo file, kept
    mono = corpus_audio(manifest, ids, 16000)
    assert mono.shape == (2, 8000)
