rule mia:
    input:
        features=expand("results/features/{model}.parquet", model=sorted(MODELS)),
        splits=expand("results/splits/models/{model}.csv", model=sorted(MODELS)),
    output:
        metrics="results/mia/metrics.csv",
        roc="results/mia/roc.csv",
        artists="results/mia/artists.csv",
    params:
        models=sorted(MODELS),
        bootstrap=config["mia"]["bootstrap"],
        seed=config["seed"],
    conda:
        STUDY_ENV
    log:
        "results/logs/mia.log",
    benchmark:
        "results/benchmarks/mia.tsv"
    script:
        "../scripts/mia.py"
