"""What the figures label."""

import pandas as pd

from audio_di.plots import curve_ticks


def test_every_grid_size_is_labelled_when_artists_end_at_different_sizes():
    ends = {"a": 48, "b": 50, "c": 64}
    curves = pd.DataFrame(
        [
            {"artist": artist, "n": n}
            for artist, largest in ends.items()
            for n in (5, 10, 20, 50, largest)
            if n <= largest
        ]
    ).drop_duplicates()
    assert curve_ticks(curves) == [5, 10, 20, 50, 64]
    assert curve_ticks(curves[curves["artist"] == "a"]) == [5, 10, 20, 48]
