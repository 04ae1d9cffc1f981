rule train:
    input:
        manifest=lambda wc: manifest_of(model_corpus(wc)),
        splits=model_splits,
        base=lambda wc: base_files(wc.model),
    output:
        weights="results/models/{model}/model.safetensors",
        config="results/models/{model}/config.json",
        loss="results/models/{model}/loss.csv",
        clips="results/models/{model}/train_clips.csv",
    params:
        kind=lambda wc: MODELS[wc.model]["kind"],
        architecture=lambda wc: canonical(config["embedded"][MODELS[wc.model]["kind"]]),
        regime=lambda wc: training_regime(wc.model),
        # Every artist of the corpus is a label, the shadow artists' too: a shadow model is
        # fine-tuned from the same base as the targets, and must find its artists there.
        artists=lambda wc: sorted(corpus_artists(model_corpus(wc))),
        sample_rate=lambda wc: CORPORA[model_corpus(wc)]["sample_rate"],
        device=lambda wc: model_device(wc.model),
        base=lambda wc: base_folder(wc.model),
        seed=config["seed"],
        code=code("train.py"),
    threads: 1
    priority: chain_priority
    resources:
        gpu=gpu_jobs,
    conda:
        STUDY_ENV
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    script:
        "../scripts/train.py"
