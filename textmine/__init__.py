"""textmine: French qualitative interview corpora to publishable evidence.

Stages (one module each): ``ingest`` -> ``segment`` -> ``pseudonymise`` -> ``embed`` ->
``topics`` / ``themes`` -> ``track`` -> ``search`` / ``export``; ``store`` holds the
project, ``config`` the typed settings, ``errors`` every error code.
"""
__version__ = "0.1.0"
