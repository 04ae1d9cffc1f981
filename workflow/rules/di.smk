# What each feature of a shadow model tells trained from held-out works (di.weights): the
# weighted test of every model that names the shadow reads these weights.
rule shadow_weights:
    input:
        features="results/features/{model}.parquet",
        splits=model_splits,
    output:
        "results/di/weights/{model}.csv",
    wildcard_constraints:
        model="|".join(SHADOWS) or "(?!)",
    params:
        code=code("shadow_weights.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/shadow_weights/{model}.log",
    script:
        "../scripts/shadow_weights.py"


rule di_model:
    input:
        features="results/features/{model}.parquet",
        splits=model_splits,
        stats=lambda wc: f"results/blind/{model_corpus(wc)}_stats.parquet",
        weights=lambda wc: shadow_weights(wc.model),
    output:
        verdicts="results/di/models/{model}/verdicts.csv",
        curves="results/di/models/{model}/pvalue_vs_n.csv",
        null="results/di/models/{model}/null_pvalues.csv",
        contamination="results/di/models/{model}/contamination.csv",
        collection_auc="results/di/models/{model}/collection_auc.csv",
    params:
        di=canonical(config["di"]),
        seed=config["seed"],
        code=code("di_model.py"),
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
        verdicts=expand("results/di/models/{model}/verdicts.csv", model=ANALYSED),
        curves=expand("results/di/models/{model}/pvalue_vs_n.csv", model=ANALYSED),
        null=expand("results/di/models/{model}/null_pvalues.csv", model=ANALYSED),
        contamination=expand(
            "results/di/models/{model}/contamination.csv", model=ANALYSED
        ),
        collection_auc=expand(
            "results/di/models/{model}/collection_auc.csv", model=ANALYSED
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
        code=code("di_collect.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/di_collect.log",
    script:
        "../scripts/di_collect.py"
