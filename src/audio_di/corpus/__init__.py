"""Corpora of clips, each listed in a manifest: real scores from the music21 corpus rendered
to audio (music21_render), a user's folder of audio files (folder), and what both share
(manifest: merging per-artist manifests, reading clips by id).

The modules are imported one by one, so that a folder corpus never loads music21.
"""
