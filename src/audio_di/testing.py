"""Support for tests and benchmarks: randomly initialised MusicGen, AudioLDM2 and Stable Audio
checkpoints, saved like real ones. The study never imports it.

The published weights cannot be fetched offline, so tests and benchmarks build the same
library classes from config objects with seeded random weights, plus real tokenizer classes
built from small in-memory vocabularies, and `save_pretrained` them into a folder that
`load_adapter({"kind": kind, "source": folder})` loads exactly as a user's checkpoint.

size="tiny" runs every test in seconds on CPU; size="full" is for throughput measurements:
the layer sizes of facebook/musicgen-small (EnCodec 58M, decoder 420M parameters) and
stabilityai/stable-audio-open-1.0 (VAE 156M, DiT 1.06B), each with a T5-base text encoder
over a small vocabulary; for AudioLDM2 the UNet and VAE of cvssp/audioldm2-music with
base-sized text encoders and language model (the published ones are larger).
"""

from __future__ import annotations

import string
from pathlib import Path

import torch

SIZES = ("tiny", "full")
SEED = 0


def save_random_checkpoint(kind: str, folder: Path, size: str = "tiny") -> None:
    """Build a `kind` model (musicgen, audioldm2, stable_audio) of `size` and save it to folder."""
    builders = {"musicgen": _musicgen, "audioldm2": _audioldm2, "stable_audio": _stable_audio}
    if kind not in builders:
        raise ValueError(f"no random checkpoint for kind {kind!r}; known: {sorted(builders)}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    for part in builders[kind](size == "tiny"):
        part.save_pretrained(folder)


# -- tokenizers from in-memory vocabularies ---------------------------------------------------

# Lower-case letters, digits and a little punctuation: enough for captions and artist names.
_CHARS = string.ascii_lowercase + string.digits + " .,'-&()"


def _t5_tokenizer(max_length: int):
    """A SentencePiece-unigram T5 tokenizer over single characters (plus word-start pieces)."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(c, -3.0) for c in _CHARS if c != " "]
    pieces += [("\u2581" + c, -2.5) for c in _CHARS if c != " "]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)


def _roberta_tokenizer(max_length: int):
    """A byte-level BPE RoBERTa tokenizer over the 256 byte symbols (no merges)."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import RobertaTokenizer

    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>"])}
    for symbol in sorted(ByteLevel.alphabet()):
        vocab.setdefault(symbol, len(vocab))
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _t5_encoder(vocab_size: int, tiny: bool):
    from transformers import T5Config, T5EncoderModel

    if tiny:
        config = T5Config(
            vocab_size=vocab_size, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2
        )
    else:  # t5-base, the text encoder of MusicGen-small and Stable Audio Open
        config = T5Config(
            vocab_size=vocab_size, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12
        )
    return T5EncoderModel(config).eval()


# -- the three kinds ----------------------------------------------------------------------------


def _musicgen(tiny: bool) -> list:
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
    )

    tokenizer = _t5_tokenizer(max_length=64 if tiny else 512)
    text_encoder = _t5_encoder(len(tokenizer), tiny)
    if tiny:
        # 4 codebooks, as MusicGen-small, at 8 kHz and a 32x hop: 250 frames/s.
        audio = EncodecConfig(
            sampling_rate=8000,
            audio_channels=1,
            target_bandwidths=[4.0],
            upsampling_ratios=[4, 4, 2],
            num_filters=4,
            hidden_size=8,
            codebook_size=16,
            num_lstm_layers=1,
            normalize=False,
        )
        decoder = MusicgenDecoderConfig(
            vocab_size=16,
            num_codebooks=4,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            ffn_dim=32,
            max_position_embeddings=512,
            pad_token_id=16,
            bos_token_id=16,
            decoder_start_token_id=16,
        )
    else:  # facebook/musicgen-small: EnCodec 32 kHz (4 codebooks of 2048) and a 300M decoder
        audio = EncodecConfig(
            sampling_rate=32000,
            audio_channels=1,
            target_bandwidths=[2.2],
            upsampling_ratios=[8, 5, 4, 4],
            num_filters=64,
            hidden_size=128,
            codebook_size=2048,
            num_lstm_layers=2,
            normalize=False,
            norm_type="weight_norm",
            use_causal_conv=False,
            compress=2,
            pad_mode="reflect",
        )
        decoder = MusicgenDecoderConfig(
            vocab_size=2048,
            num_codebooks=4,
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            ffn_dim=4096,
            max_position_embeddings=2048,
            pad_token_id=2048,
            bos_token_id=2048,
            decoder_start_token_id=2048,
        )
    config = MusicgenConfig(
        text_encoder=text_encoder.config.to_dict(),
        audio_encoder=audio.to_dict(),
        decoder=decoder.to_dict(),
        decoder_start_token_id=decoder.decoder_start_token_id,
        pad_token_id=decoder.pad_token_id,
    )
    model = MusicgenForConditionalGeneration(config).eval()
    model.text_encoder.load_state_dict(text_encoder.state_dict())
    # EnCodec starts its codebooks at zero (they are learnt by k-means): random centres
    # instead, so that random audio gets varied codes.
    for layer in model.audio_encoder.quantizer.layers:
        layer.codebook.embed.normal_(std=0.1)
    features = EncodecFeatureExtractor(feature_size=1, sampling_rate=audio.sampling_rate)
    return [model, MusicgenProcessor(feature_extractor=features, tokenizer=tokenizer)]


def _audioldm2(tiny: bool) -> list:
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        GPT2Config,
        GPT2Model,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    tokenizer = _roberta_tokenizer(max_length=16 if tiny else 512)
    tokenizer_2 = _t5_tokenizer(max_length=16 if tiny else 128)
    width = 16 if tiny else 768  # CLAP/T5/GPT-2 widths
    clap_text = ClapTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=2 * width if tiny else 3072,
        num_hidden_layers=1 if tiny else 12,
        num_attention_heads=2 if tiny else 12,
        max_position_embeddings=tokenizer.model_max_length + 2,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        projection_dim=width if tiny else 512,
    )
    clap_audio = ClapAudioConfig(
        spec_size=64,
        window_size=4,
        num_mel_bins=64,
        depths=[1, 1],
        num_attention_heads=[2, 2],
        hidden_size=32,
        patch_size=2,
        patch_stride=2,
        patch_embed_input_channels=4,
        projection_dim=clap_text.projection_dim,
    )
    clap = ClapModel(
        ClapConfig(
            text_config=clap_text.to_dict(),
            audio_config=clap_audio.to_dict(),
            projection_dim=clap_text.projection_dim,
        )
    )
    text_encoder_2 = _t5_encoder(len(tokenizer_2), tiny)
    language_model = GPT2Model(
        GPT2Config(
            vocab_size=64,
            n_embd=width,
            n_layer=1 if tiny else 12,
            n_head=2 if tiny else 12,
            n_positions=64 if tiny else 1024,
            bos_token_id=0,
            eos_token_id=0,
        )
    )
    language_model.config.max_new_tokens = 4 if tiny else 8
    projection = AudioLDM2ProjectionModel(
        text_encoder_dim=clap_text.projection_dim,
        text_encoder_1_dim=text_encoder_2.config.d_model,
        langauge_model_dim=width,
    )
    if tiny:
        vae_channels, unet_channels, n_mels = [8, 8], (16, 32), 16
    else:  # cvssp/audioldm2-music's UNet and VAE: 64 mel bins at 16 kHz, a 160-sample hop
        vae_channels, unet_channels, n_mels = [128, 256, 512], (128, 256, 384, 640), 64
    vae = AutoencoderKL(
        in_channels=1,
        out_channels=1,
        block_out_channels=vae_channels,
        down_block_types=["DownEncoderBlock2D"] * len(vae_channels),
        up_block_types=["UpDecoderBlock2D"] * len(vae_channels),
        latent_channels=8,
        norm_num_groups=8 if tiny else 32,
        scaling_factor=0.5,
    )
    blocks = len(unet_channels)
    cross = [None, text_encoder_2.config.d_model, width]
    unet = AudioLDM2UNet2DConditionModel(
        sample_size=16 if tiny else 256,
        in_channels=8,
        out_channels=8,
        block_out_channels=unet_channels,
        layers_per_block=1 if tiny else 2,
        down_block_types=["DownBlock2D"] + ["CrossAttnDownBlock2D"] * (blocks - 1),
        up_block_types=["CrossAttnUpBlock2D"] * (blocks - 1) + ["UpBlock2D"],
        cross_attention_dim=[cross] * blocks,
        attention_head_dim=8,
        norm_num_groups=8 if tiny else 32,
    )
    scheduler = DDIMScheduler(
        beta_start=0.0015,
        beta_end=0.0195,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
    )
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=n_mels,
            sampling_rate=16000,
            upsample_initial_channel=16 if tiny else 1024,
            # Tiny: a 256-sample hop (16 ms), for few mel frames; full: 160 (10 ms).
            upsample_rates=[16, 16] if tiny else [5, 4, 2, 2, 2],
            upsample_kernel_sizes=[32, 32] if tiny else [16, 16, 8, 4, 4],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1, 3]],
            normalize_before=False,
        )
    )
    pipeline = AudioLDM2Pipeline(
        vae=vae,
        text_encoder=clap,
        text_encoder_2=text_encoder_2,
        projection_model=projection,
        language_model=language_model,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        feature_extractor=ClapFeatureExtractor(),
        unet=unet,
        scheduler=scheduler,
        vocoder=vocoder,
    )
    return [pipeline]


def _stable_audio(tiny: bool) -> list:
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )

    tokenizer = _t5_tokenizer(max_length=16 if tiny else 128)
    text_encoder = _t5_encoder(len(tokenizer), tiny)
    if tiny:
        vae = AutoencoderOobleck(
            encoder_hidden_size=8,
            downsampling_ratios=[4, 8],
            channel_multiples=[1, 2],
            decoder_channels=4,
            decoder_input_channels=4,
            audio_channels=2,
            sampling_rate=8000,
        )
        transformer = StableAudioDiTModel(
            # A 1.024 s window at 8 kHz (32-sample hop): the tests' clips fit in it.
            sample_size=256,
            in_channels=4,
            num_layers=1,
            attention_head_dim=8,
            num_attention_heads=2,
            num_key_value_attention_heads=1,
            out_channels=4,
            cross_attention_dim=16,
            time_proj_dim=16,
            global_states_input_dim=32,
            cross_attention_input_dim=16,
        )
        conditioning_dim, max_seconds = 16, 32
    else:  # stabilityai/stable-audio-open-1.0
        vae = AutoencoderOobleck(
            encoder_hidden_size=128,
            downsampling_ratios=[2, 4, 4, 8, 8],
            channel_multiples=[1, 2, 4, 8, 16],
            decoder_channels=128,
            decoder_input_channels=64,
            audio_channels=2,
            sampling_rate=44100,
        )
        transformer = StableAudioDiTModel(
            sample_size=1024,
            in_channels=64,
            num_layers=24,
            attention_head_dim=64,
            num_attention_heads=24,
            num_key_value_attention_heads=12,
            out_channels=64,
            cross_attention_dim=768,
            time_proj_dim=256,
            global_states_input_dim=1536,
            cross_attention_input_dim=768,
        )
        conditioning_dim, max_seconds = 768, 512
    projection = StableAudioProjectionModel(
        text_encoder_dim=text_encoder.config.d_model,
        conditioning_dim=conditioning_dim,
        min_value=0,
        max_value=max_seconds,
    )
    scheduler = CosineDPMSolverMultistepScheduler(
        sigma_min=0.3,
        sigma_max=500,
        solver_order=2,
        prediction_type="v_prediction",
        sigma_data=1.0,
        sigma_schedule="exponential",
    )
    pipeline = StableAudioPipeline(
        vae=vae,
        text_encoder=text_encoder,
        projection_model=projection,
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=scheduler,
    )
    return [pipeline]
