"""benchmarks/study_time.py: job-seconds per stage from Snakemake's benchmark files."""

import pandas as pd
import pytest
from study_time import stage_times

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(path, seconds: float, rss: str = "100.0") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t90\t1\n")


def test_stages_are_rule_folders_and_a_top_level_file_is_its_own_rule(tmp_path):
    bench(tmp_path / "features/ar/0.tsv", 2.0)
    bench(tmp_path / "features/ar/1.tsv", 3.0, rss="-")  # Snakemake's "-" where unmeasured
    bench(tmp_path / "mia.tsv", 1.5)
    jobs = stage_times(tmp_path)
    assert jobs.groupby("stage")["seconds"].sum().to_dict() == {"features": 5.0, "mia": 1.5}
    assert pd.isna(jobs.set_index("job").loc["features/ar/1", "max_rss_mb"])


def test_a_folder_without_benchmarks_says_so(tmp_path):
    with pytest.raises(SystemExit, match=f"no benchmark files under {tmp_path}"):
        stage_times(tmp_path)
