rule figure_roc:
    input:
        roc="results/mia/roc.csv",
        metrics="results/mia/metrics.csv",
    output:
        report("results/figures/roc.png", caption="../report/roc.rst", category="Membership inference"),
    params:
        code=code("figure_roc.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/figures/roc.log",
    script:
        "../scripts/figure_roc.py"


rule figure_auc_heatmap:
    input:
        "results/mia/metrics.csv",
    output:
        report(
            "results/figures/auc_heatmap.png",
            caption="../report/auc_heatmap.rst",
            category="Membership inference",
        ),
    params:
        code=code("figure_auc_heatmap.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/figures/auc_heatmap.log",
    script:
        "../scripts/figure_auc_heatmap.py"


rule figure_pvalue_vs_n:
    input:
        "results/di/pvalue_vs_n.csv",
    output:
        report(
            "results/figures/pvalue_vs_n.png",
            caption="../report/pvalue_vs_n.rst",
            category="Dataset inference",
        ),
    params:
        alpha=config["di"]["alpha"],
        code=code("figure_pvalue_vs_n.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/figures/pvalue_vs_n.log",
    script:
        "../scripts/figure_pvalue_vs_n.py"


rule headline_metrics:
    input:
        mia="results/mia/metrics.csv",
        verdicts="results/di/verdicts.csv",
        curves="results/di/pvalue_vs_n.csv",
        calibration="results/di/calibration.csv",
        collection_auc="results/di/collection_auc.csv",
    output:
        "results/metrics.json",
    params:
        references={model: MODELS[model].get("reference") for model in ANALYSED},
        controls=reference_models(),
        methods=config["di"]["methods"],
        code=code("headline_metrics.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/headline_metrics.log",
    script:
        "../scripts/headline_metrics.py"


# The report's landing table and the run's closing lines (metrics.json in words), and the
# verdict and calibration tables as pages, which the report shows rendered.
rule summary:
    input:
        metrics="results/metrics.json",
        verdicts="results/di/verdicts.csv",
        calibration="results/di/calibration.csv",
    output:
        headline="results/summary/headline.csv",
        text="results/summary/headline.txt",
        verdicts=report(
            "results/summary/verdicts.html",
            caption="../report/verdicts.rst",
            category="Verdicts",
            labels={"table": "verdicts", "view": "table"},
        ),
        calibration=report(
            "results/summary/calibration.html",
            caption="../report/calibration.rst",
            category="Verdicts",
            labels={"table": "calibration", "view": "table"},
        ),
    params:
        code=code("summary.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/summary.log",
    script:
        "../scripts/summary.py"


rule figure_headline:
    input:
        artists="results/mia/artists.csv",
        verdicts="results/di/verdicts.csv",
    output:
        report(
            "results/figures/headline.png", caption="../report/headline.rst", category="Headline"
        ),
    params:
        alpha=config["di"]["alpha"],
        code=code("figure_headline.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/figures/headline.log",
    script:
        "../scripts/figure_headline.py"


rule figure_null_qq:
    input:
        "results/di/null_pvalues.csv",
    output:
        report("results/figures/null_qq.png", caption="../report/null_qq.rst", category="Dataset inference"),
    params:
        alpha=config["di"]["alpha"],
        code=code("figure_null_qq.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/figures/null_qq.log",
    script:
        "../scripts/figure_null_qq.py"


rule figure_contamination:
    input:
        "results/di/contamination.csv",
    output:
        report(
            "results/figures/contamination.png",
            caption="../report/contamination.rst",
            category="Dataset inference",
        ),
    params:
        code=code("figure_contamination.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/figures/contamination.log",
    script:
        "../scripts/figure_contamination.py"


# The same study under other seeds (`seed_metrics`, written by benchmarks/headline_seeds.py
# into the repository, whatever folder the study runs in): the report shows each figure on
# every seed beside this run's headline. With none, the table has no row.
rule seed_spread:
    input:
        [os.path.join(workflow.basedir, path) for path in config["seed_metrics"]],
    output:
        "results/seed_spread.csv",
    params:
        code=code("seed_spread.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/seed_spread.log",
    script:
        "../scripts/seed_spread.py"
