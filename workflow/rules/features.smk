# One job per (model, shard); each shard is a run of whole feature batches (audio_di.shards).
rule features:
    input:
        model=model_inputs,
        manifest=lambda wc: manifest_of(model_corpus(wc)),
        splits=model_splits,
    output:
        temp("results/features/shards/{model}/{shard}.parquet"),
    params:
        spec=lambda wc: model_spec(wc.model),
        attacks=canonical(config["features"]["attacks"]),
        batch_size=config["features"]["batch_size"],
        device=lambda wc: model_device(wc.model),
        reference=lambda wc: reference_spec(wc.model),
        only=lambda wc: MODELS[wc.model].get("attacks"),
        shard=lambda wc: [int(wc.shard), feature_shards(wc.model)],
        code=code("features.py"),
    threads: 1
    # Before any ready DI job (di_model), which only fills the cores that training and
    # features leave free: a DI job is short, so the fine-tune's features never wait long.
    priority: 1
    resources:
        gpu=gpu_jobs,
        # What one shard needs of a multi-billion-parameter model; profiles can override it.
        mem_mb=16000,
        runtime=120,
    conda:
        STUDY_ENV
    log:
        "results/logs/features/{model}/{shard}.log",
    benchmark:
        "results/benchmarks/features/{model}/{shard}.tsv"
    script:
        "../scripts/features.py"


rule merge_features:
    input:
        lambda wc: expand(
            "results/features/shards/{model}/{shard}.parquet",
            model=wc.model,
            shard=range(feature_shards(wc.model)),
        ),
    output:
        "results/features/{model}.parquet",
    params:
        code=code("merge_features.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/merge_features/{model}.log",
    script:
        "../scripts/merge_features.py"


# The blind baseline's audio statistics (blind.corpus_statistics) need no model: here they run
# on the core that the longest training leaves free, and the analysis starts on DI at once.
rule audio_statistics:
    input:
        manifest=lambda wc: manifest_of(wc.corpus),
        splits="results/splits/{corpus}.csv",
    output:
        "results/blind/{corpus}_stats.parquet",
    params:
        sample_rate=lambda wc: CORPORA[wc.corpus]["sample_rate"],
        code=code("audio_statistics.py"),
    conda:
        STUDY_ENV
    log:
        "results/logs/audio_statistics/{corpus}.log",
    benchmark:
        "results/benchmarks/audio_statistics/{corpus}.tsv"
    script:
        "../scripts/audio_statistics.py"
