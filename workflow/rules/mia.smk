rule mia:
    input:
        features=expand("results/features/{model}.parquet", model=ANALYSED),
        splits=expand("results/splits/models/{model}.csv", model=ANALYSED),
    output:
        metrics="results/mia/metrics.csv",
        roc="results/mia/roc.csv",
        artists="results/mia/artists.csv",
    params:
        models=ANALYSED,
        bootstrap=config["mia"]["bootstrap"],
        seed=config["seed"],
        code=code("mia.py"),
    conda:
        STUDY_ENV
    log:
        "results/logs/mia.log",
    benchmark:
        "results/benchmarks/mia.tsv"
    script:
        "../scripts/mia.py"
