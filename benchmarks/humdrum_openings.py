"""Every work of a Humdrum artist rendered to MIDI two ways: from its opening (opening_midi,
which parses the first HEAD_MEASURES measures where humdrum_head allows it) and from the
whole file's parse. The bytes must be equal; the times show what the opening saves.

Usage: python benchmarks/humdrum_openings.py [--artist palestrina] [--seconds 12] [--limit N]
(12 s is the study's: two 4 s clips and a spare one; all 1,318 Palestrina works take about
6 minutes on one core)
"""

from __future__ import annotations

import argparse
import time

from audio_di.corpus import music21_render as render
from audio_di.corpus.artists import get_artist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artist", default="palestrina")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--limit", type=int, default=None, help="the first N works only")
    args = parser.parse_args()
    artist = get_artist(args.artist)
    works = render.list_works(args.artist)[: args.limit]
    equal, differ, failed, opened = [], [], [], 0
    whole_time = opening_time = 0.0
    for work in works:
        started = time.perf_counter()
        try:
            whole = render.score_to_midi(render.parse_work(work), artist, args.seconds)
        except Exception as err:  # a work the render would report and replace
            failed.append(f"{work.work_id}: {type(err).__name__}")
            continue
        whole_time += time.perf_counter() - started
        text = (render.CORPUS_ROOT / work.source).read_text(encoding="latin-1")
        opened += render.humdrum_head(text, render.HEAD_MEASURES) is not None
        started = time.perf_counter()
        opening = render.opening_midi(work, artist, args.seconds)
        opening_time += time.perf_counter() - started
        (equal if opening == whole else differ).append(work.work_id)
    print(
        f"{args.artist}: {len(works)} works, {len(equal)} equal MIDI bytes, "
        f"{len(differ)} different, {len(failed)} whose whole parse fails; {opened} cut to "
        f"their opening; whole parses {whole_time:.1f} s, openings {opening_time:.1f} s"
    )
    for work_id in differ:
        print("different:", work_id)


if __name__ == "__main__":
    main()
