rule features:
    input:
        weights="results/models/{model}/model.safetensors",
        config="results/models/{model}/config.json",
        manifest=lambda wc: manifest_of(model_corpus(wc)),
        splits=lambda wc: f"results/splits/{model_corpus(wc)}.csv",
        reference=reference_weights,
    output:
        "results/features/{model}.parquet",
    params:
        kind=lambda wc: MODELS[wc.model]["kind"],
        attacks=canonical(config["features"]["attacks"]),
        batch_size=config["features"]["batch_size"],
        device=lambda wc: model_device(wc.model),
        reference=lambda wc: MODELS[wc.model].get("reference"),
        only=lambda wc: MODELS[wc.model].get("attacks"),
    threads: 1
    resources:
        gpu=gpu_jobs,
    conda:
        STUDY_ENV
    log:
        "results/logs/features/{model}.log",
    benchmark:
        "results/benchmarks/features/{model}.tsv"
    script:
        "../scripts/features.py"
