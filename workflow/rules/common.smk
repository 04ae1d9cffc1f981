import shutil

from snakemake.utils import validate

from audio_di.config import check_study

validate(config, "../schemas/params.schema.yaml")
check_study(config)

# One software environment serves every rule (see envs/audio-di.yaml).
STUDY_ENV = "../../envs/audio-di.yaml"
CORPORA = config["corpora"]
MODELS = config["models"]


wildcard_constraints:
    corpus="|".join(CORPORA),
    model="|".join(MODELS),
    artist="[a-z0-9_]+",


def canonical(value):
    """Dicts with sorted keys, recursively: Snakemake compares params by their text, and
    reordering keys in a config file must not rerun a job."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def corpus_artists(corpus):
    """Every artist rendered for a corpus: evaluated ones first, then filler."""
    spec = CORPORA[corpus]
    return spec["artists"] + spec.get("filler_artists", [])


def works_for(corpus, artist):
    spec = CORPORA[corpus]
    if artist in spec["artists"]:
        return spec["works_per_artist"]
    return spec["filler_works_per_artist"]


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
    }


def reference_weights(wildcards):
    """The reference model's weights, for models whose attacks are reference-calibrated."""
    reference = MODELS[wildcards.model].get("reference")
    return [f"results/models/{reference}/model.safetensors"] if reference else []


def model_device(model):
    return MODELS[model].get("device", "auto")


def gpu_jobs(wildcards):
    """1 where a model's jobs take the GPU, so that the profile's gpu limit keeps them apart."""
    device = model_device(wildcards.model)
    return int(device == "cuda" or (device == "auto" and shutil.which("nvidia-smi") is not None))


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
        "results/metrics.json",
    ]
