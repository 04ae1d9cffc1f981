rule render_artist:
    output:
        clips=directory("data/corpus/{corpus}/clips/{artist}"),
        manifest="data/corpus/{corpus}/manifests/{artist}.csv",
        failures="data/corpus/{corpus}/failures/{artist}.csv",
    params:
        works=lambda wc: works_for(wc.corpus, wc.artist),
        max_clips_per_work=lambda wc: CORPORA[wc.corpus]["max_clips_per_work"],
        clip_seconds=lambda wc: CORPORA[wc.corpus]["clip_seconds"],
        sample_rate=lambda wc: CORPORA[wc.corpus]["sample_rate"],
        seed=config["seed"],
        code=code("render_artist.py"),
    priority: render_priority
    conda:
        STUDY_ENV
    log:
        "results/logs/render/{corpus}/{artist}.log",
    benchmark:
        "results/benchmarks/render/{corpus}/{artist}.tsv"
    script:
        "../scripts/render_artist.py"


rule corpus_manifest:
    input:
        manifests=lambda wc: expand(
            "data/corpus/{corpus}/manifests/{artist}.csv",
            corpus=wc.corpus,
            artist=corpus_artists(wc.corpus),
        ),
        failures=lambda wc: expand(
            "data/corpus/{corpus}/failures/{artist}.csv",
            corpus=wc.corpus,
            artist=corpus_artists(wc.corpus),
        ),
    output:
        manifest="data/corpus/{corpus}/manifest.csv",
        failures="data/corpus/{corpus}/failures.csv",
    wildcard_constraints:
        corpus=corpora_of_kind("music21"),
    params:
        code=code("corpus_manifest.py"),
    localrule: True
    conda:
        STUDY_ENV
    log:
        "results/logs/corpus_manifest/{corpus}.log",
    script:
        "../scripts/corpus_manifest.py"


# A user's catalogue: the files its manifest lists, cut into clips; bad files are listed in
# the rejected table with the reason.
rule folder_corpus:
    input:
        manifest=lambda wc: CORPORA[wc.corpus]["manifest"],
        audio=lambda wc: CORPORA[wc.corpus]["path"],
    output:
        manifest="data/corpus/{corpus}/manifest.csv",
        clips=directory("data/corpus/{corpus}/clips"),
        rejected="results/corpus/{corpus}_rejected.csv",
    wildcard_constraints:
        corpus=corpora_of_kind("folder"),
    params:
        clip_seconds=lambda wc: CORPORA[wc.corpus]["clip_seconds"],
        sample_rate=lambda wc: CORPORA[wc.corpus]["sample_rate"],
        max_clips_per_file=lambda wc: CORPORA[wc.corpus].get("max_clips_per_file"),
        code=code("folder_corpus.py"),
    conda:
        STUDY_ENV
    log:
        "results/logs/folder_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/folder_corpus/{corpus}.tsv"
    script:
        "../scripts/folder_corpus.py"
