import os
import shutil

from snakemake.utils import validate

from audio_di.config import MIN_WORKS, MODEL_SETTINGS, check_study, pin_math
from audio_di.corpus.artists import get_artist
from audio_di.imports import code_digest

validate(config, "../schemas/params.schema.yaml")
check_study(config)
# Every job inherits this environment: its math libraries compute as on any x86-64 CPU with
# AVX2, whatever this one has (audio_di.config.PINNED_MATH).
pin_math()

# One software environment serves every rule (see envs/audio-di.yaml).
STUDY_ENV = "../../envs/audio-di.yaml"
CORPORA = config["corpora"]
MODELS = config["models"]
# Shadow models (a model's `shadow`) give the weighted test its weights; they are trained
# and scored, but not analysed: the study's tables and figures cover the others.
SHADOWS = sorted({spec["shadow"] for spec in MODELS.values() if "shadow" in spec})
ANALYSED = sorted(set(MODELS) - set(SHADOWS))


wildcard_constraints:
    corpus="|".join(CORPORA),
    model="|".join(MODELS),
    artist="[a-z0-9_]+",
    shard=r"\d+",


# Rules that only join tables or draw a figure say `localrule: True`: they run where
# Snakemake runs, never through a cluster executor, where a queue wait would cost more than
# the job.


def code(script):
    """A rule's `code` param: the digest of the audio_di code its script runs. Snakemake
    reruns a job when its script changes, and through this param when that code does; DVC
    reruns the stage for the same change (dvc.yaml)."""
    return code_digest(os.path.join(workflow.basedir, "workflow/scripts", script))


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their text, and
    reordering keys in a config file must not rerun a job."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def corpora_of_kind(kind):
    """A wildcard pattern for the corpora of one kind; it matches nothing if there is none."""
    names = [name for name, corpus in CORPORA.items() if corpus["kind"] == kind]
    return "|".join(names) if names else "(?!)"


def corpus_artists(corpus):
    """Every artist rendered for a corpus: evaluated ones first, then the shadow models'
    (the auditor's own works), then filler."""
    spec = CORPORA[corpus]
    return spec["artists"] + shadow_artists(corpus) + spec.get("filler_artists", [])


def shadow_artists(corpus):
    return CORPORA[corpus].get("shadow_artists", [])


def works_for(corpus, artist):
    """Works to render for an artist: its own entry in artist_works, else the corpus's
    number for evaluated and shadow artists, or for filler artists."""
    spec = CORPORA[corpus]
    if artist in spec["artists"] + shadow_artists(corpus):
        return spec.get("artist_works", {}).get(artist, spec["works_per_artist"])
    return spec["filler_works_per_artist"]


# Job priorities order only the jobs that are ready at once: they change the wall time, not
# a byte of output. The longest jobs, and the chains of them, go first, so that no core is
# left with one long job at the end of a stage (longest processing time first). A priority
# does not pass to a job's inputs, so each job of a chain carries it.


def render_priority(wildcards):
    """The render's expected cost: its works, a polyphonic score (MusicXML, Humdrum) counting
    2.5 ABC tunes (measured at 73456de: bach 58 s and palestrina 40 s for 200 works; the
    tunes 28-30 s for the 300 filler works, 22-31 s for 200)."""
    sources = get_artist(wildcards.artist).sources
    tune = all(source.endswith(".abc") for source in sources)
    return works_for(wildcards.corpus, wildcards.artist) * (2 if tune else 5)


def training_cost(model):
    """A training job's length in clip passes (epochs x clips), estimated from the config; 0
    for a pretrained model, which is not trained here. A folder corpus's works are unknown
    before its manifest is read: there the filler counts."""
    if "regime" not in MODELS[model]:
        return 0
    regime = training_regime(model)
    corpus = MODELS[model]["corpus"]
    clips = regime["filler_clips"]
    if regime["members"] and CORPORA[corpus]["kind"] == "music21":
        split = config["splits"][corpus]
        members = shadow_artists(corpus) if model in SHADOWS else split["members"]
        for artist in members:
            works = works_for(corpus, artist) * (1 - split["heldout_fraction"])
            works = min(works, member_works(model) or works)
            clips += works * CORPORA[corpus]["max_clips_per_work"]
    return regime["epochs"] * clips


def chain_priority(wildcards):
    """The training from this model on: its own, and that of its longest fine-tune, which
    must wait for it (a base and its fine-tune are the study's longest chain)."""

    def chain(model):
        tunes = [name for name, spec in MODELS.items() if spec.get("base") == model]
        return training_cost(model) + max(map(chain, tunes), default=0)

    return round(chain(wildcards.model))


def manifest_of(corpus):
    return f"data/corpus/{corpus}/manifest.csv"


def model_corpus(wildcards):
    return MODELS[wildcards.model]["corpus"]


def training_regime(model):
    """The model's regime with the epochs of its own kind, so that changing another kind's
    epochs does not retrain it."""
    regime = config["regimes"][MODELS[model]["regime"]]
    return {
        "filler_clips": regime["filler_clips"],
        "members": regime.get("members", True),
        "epochs": regime["epochs"][MODELS[model]["kind"]],
        "schedule": regime.get("schedule", "constant"),
    }


def member_works(model):
    """How many of each member artist's train works the model trains on (None: all)."""
    regime = MODELS[model].get("regime")
    return config["regimes"][regime].get("member_works") if regime else None


def model_splits(wildcards):
    return f"results/splits/models/{wildcards.model}.csv"


def shadow_weights(model):
    """The weights table of the model's shadow, which its weighted test reads, if any."""
    shadow = MODELS[model].get("shadow")
    return [f"results/di/weights/{shadow}.csv"] if shadow else []


def base_folder(model):
    """The folder of the model that `model` is fine-tuned from, or None."""
    base = MODELS[model].get("base")
    return f"results/models/{base}" if base else None


def base_files(model):
    base = MODELS[model].get("base")
    return model_files(base) if base else []


def reference_models():
    """The models trained on no evaluated artist (a regime with `members: false`)."""
    return sorted(
        model
        for model, spec in MODELS.items()
        if "regime" in spec and not training_regime(model)["members"]
    )


def model_files(model):
    """What a model is loaded from: the files `train` writes for a model trained here, the
    folder of a local `source`, nothing for a hub id."""
    source = MODELS[model].get("source")
    if source is None:
        return [f"results/models/{model}/model.safetensors", f"results/models/{model}/config.json"]
    return [source] if os.path.isdir(source) else []


def model_inputs(wildcards):
    """The files a model's features job loads: the model's, and its reference model's."""
    reference = MODELS[wildcards.model].get("reference")
    return model_files(wildcards.model) + (model_files(reference) if reference else [])


def model_spec(model):
    """The model as load_adapter takes it: kind, source (results/models/<model> for a model
    trained here), and revision, dtype and scoring settings (latent, window) where given."""
    spec = MODELS[model]
    loaded = {"kind": spec["kind"], "source": spec.get("source", f"results/models/{model}")}
    keys = ("revision", "dtype", *MODEL_SETTINGS)
    return loaded | {key: spec[key] for key in keys if key in spec}


def reference_spec(model):
    """The spec of the model's reference model, if it has one."""
    reference = MODELS[model].get("reference")
    return model_spec(reference) if reference else None


def feature_shards(model):
    """Feature jobs of a model: its own `shards`, else features.shards (1 where absent)."""
    return MODELS[model].get("shards", config["features"]["shards"])


def model_device(model):
    return MODELS[model].get("device", "auto")


def gpu_jobs(wildcards):
    """1 where a model's jobs take the GPU, so that the profile's gpu limit keeps them apart."""
    device = model_device(wildcards.model)
    return int(device == "cuda" or (device == "auto" and shutil.which("nvidia-smi") is not None))


def corpus_outputs():
    """Every corpus manifest: where dvc.yaml's `corpus` stage ends."""
    return [manifest_of(corpus) for corpus in sorted(CORPORA)]


def model_outputs():
    """Every model's features, the audio statistics of the corpora that DI analyses, and the
    DI tables: where dvc.yaml's `models` stage ends. A model's DI needs only its features,
    so it runs on the core that the fine-tune leaves free (docs/running.md)."""
    corpora = sorted({MODELS[model]["corpus"] for model in ANALYSED})
    return (
        expand("results/features/{model}.parquet", model=sorted(MODELS))
        + expand("results/blind/{corpus}_stats.parquet", corpus=corpora)
        + ["results/di/verdicts.csv"]  # with di_collect's other tables
    )


def study_outputs():
    """The files the study ends in; `rule all` asks for these."""
    return [
        "results/mia/metrics.csv",
        "results/di/verdicts.csv",
        "results/di/pvalue_vs_n.csv",
        "results/di/calibration.csv",
        "results/di/contamination.csv",
        "results/figures/roc.png",
        "results/figures/null_qq.png",
        "results/figures/contamination.png",
        "results/figures/auc_heatmap.png",
        "results/figures/pvalue_vs_n.png",
        "results/figures/headline.png",
        "results/metrics.json",
        "results/summary/headline.csv",
        "results/summary/headline.txt",
        "results/summary/verdicts.html",
        "results/summary/calibration.html",
        "results/seed_spread.csv",
    ]
