rule audio_statistics:
    input:
        manifest=lambda wc: manifest_of(wc.corpus),
        splits="results/splits/{corpus}.csv",
    output:
        "results/blind/{corpus}_stats.parquet",
    params:
        sample_rate=lambda wc: CORPORA[wc.corpus]["sample_rate"],
    conda:
        STUDY_ENV
    log:
        "results/logs/audio_statistics/{corpus}.log",
    benchmark:
        "results/benchmarks/audio_statistics/{corpus}.tsv"
    script:
        "../scripts/audio_statistics.py"


rule di_model:
    input:
        features="results/features/{model}.parquet",
        splits=model_splits,
        stats=lambda wc: f"results/blind/{model_corpus(wc)}_stats.parquet",
    output:
        verdicts="results/di/models/{model}/verdicts.csv",
        curves="results/di/models/{model}/pvalue_vs_n.csv",
        null="results/di/models/{model}/null_pvalues.csv",
        contamination="results/di/models/{model}/contamination.csv",
        collection_auc="results/di/models/{model}/collection_auc.csv",
    params:
        di=canonical(config["di"]),
        seed=config["seed"],
    conda:
        STUDY_ENV
    log:
        "results/logs/di/{model}.log",
    benchmark:
        "results/benchmarks/di/{model}.tsv"
    script:
        "../scripts/di_model.py"


rule di_collect:
    input:
        verdicts=expand("results/di/models/{model}/verdicts.csv", model=sorted(MODELS)),
        curves=expand("results/di/models/{model}/pvalue_vs_n.csv", model=sorted(MODELS)),
        null=expand("results/di/models/{model}/null_pvalues.csv", model=sorted(MODELS)),
        contamination=expand(
            "results/di/models/{model}/contamination.csv", model=sorted(MODELS)
        ),
        collection_auc=expand(
            "results/di/models/{model}/collection_auc.csv", model=sorted(MODELS)
        ),
    output:
        verdicts=report(
            "results/di/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Verdicts",
            labels={"table": "verdicts", "view": "CSV"},
        ),
        curves="results/di/pvalue_vs_n.csv",
        null="results/di/null_pvalues.csv",
        contamination="results/di/contamination.csv",
        collection_auc="results/di/collection_auc.csv",
        calibration=report(
            "results/di/calibration.csv",
            caption="../report/calibration.rst",
            category="Verdicts",
            labels={"table": "calibration", "view": "CSV"},
        ),
    params:
        alpha=config["di"]["alpha"],
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/di_collect.log",
    script:
        "../scripts/di_collect.py"
