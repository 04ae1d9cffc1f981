"""The artists of the music21 corpus: which scores are each artist's works, the General-MIDI
programs that play them, and the caption that describes them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Artist:
    key: str
    description: str  # what the music is, first half of the caption
    sources: tuple[str, ...]  # glob patterns relative to the corpus root, in priority order
    programs: tuple[int, ...]  # GM program (0-based) per part; the last one serves further parts
    instrumentation: str  # the programs in words, second half of the caption
    default_bpm: float  # quarter notes per minute where the score gives no tempo
    collection: bool = False  # an ABC file holds many tunes, each one work
    exclude: tuple[str, ...] = ()  # glob patterns of files to skip
    # O'Neill's tunes carry their number in the book in `B:`; overlapping files hold two
    # transcriptions of one tune, which must not become two works.
    book_numbers: bool = False

    @property
    def caption(self) -> str:
        return f"{self.description}, {self.instrumentation}"


# GM programs (0-based): 0 piano, 19 church organ, 24 nylon guitar (lute), 40 violin,
# 41 viola, 46 harp, 48 string ensemble, 52 choir aahs, 68 oboe, 71 clarinet, 73 flute,
# 74 recorder, 75 pan flute, 21 accordion.
ARTISTS: dict[str, Artist] = {
    a.key: a
    for a in [
        Artist(
            "bach",
            "Bach chorale",
            ("bach/*.mxl", "bach/*.xml"),  # the three .krn chorales duplicate .mxl ones
            (19,),
            "church organ",
            default_bpm=80,
        ),
        Artist(
            "palestrina",
            "Palestrina mass movement",
            ("palestrina/*.krn",),
            (52,),
            "choir aahs",
            default_bpm=120,
        ),
        Artist(
            "monteverdi",
            "Monteverdi madrigal",
            ("monteverdi/*.mxl",),
            (48,),
            "string ensemble",
            default_bpm=100,
            exclude=("*_old.mxl",),
        ),
        Artist(
            "trecento",
            "Italian trecento song",
            ("trecento/*.xml", "trecento/*.mxl"),
            (74, 24),
            "recorder and lute",
            default_bpm=100,
        ),
        Artist(
            "josquin",
            "Josquin chanson",
            ("josquin/*.abc",),
            (41,),
            "viola consort",
            default_bpm=120,
        ),
        Artist(
            "oneills1850",
            "Irish tune from O'Neill's Music of Ireland",
            ("oneills1850/*.abc",),
            (40,),
            "fiddle",
            default_bpm=100,
            collection=True,
            book_numbers=True,
        ),
        Artist(
            "airds_airs",
            "Scottish air from Aird's Airs",
            ("airdsAirs/*.abc",),
            (73,),
            "flute",
            default_bpm=100,
            collection=True,
        ),
        Artist(
            "ryans_mammoth",
            "Dance tune from Ryan's Mammoth Collection",
            ("ryansMammoth/*.abc",),
            (21,),
            "accordion",
            default_bpm=110,
        ),
        Artist(
            "essen_han",
            "Chinese Han folk song",
            ("essenFolksong/han*.abc",),
            (75,),
            "pan flute",
            default_bpm=90,
            collection=True,
        ),
        Artist(
            "essen_kinder",
            "German children's song",
            ("essenFolksong/kinder*.abc",),
            (0,),
            "piano",
            default_bpm=110,
            collection=True,
        ),
        Artist(
            "essen_ballad",
            "German ballad",
            ("essenFolksong/ballad*.abc",),
            (46,),
            "harp",
            default_bpm=100,
            collection=True,
        ),
        Artist(
            "essen_altdeu",
            "Old German folk song",
            ("essenFolksong/altdeu*.abc",),
            (71,),
            "clarinet",
            default_bpm=100,
            collection=True,
        ),
        Artist(
            "essen_erk",
            "German folk song from Erk's collection",
            ("essenFolksong/erk*.abc",),
            (68,),
            "oboe",
            default_bpm=100,
            collection=True,
        ),
    ]
}


def get_artist(key: str) -> Artist:
    if key not in ARTISTS:
        raise ValueError(f"unknown artist {key!r}; known artists: {', '.join(sorted(ARTISTS))}")
    return ARTISTS[key]
