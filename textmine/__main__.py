"""``python -m textmine``: the ``textmine`` command."""
from textmine.cli.main import run

if __name__ == "__main__":
    run()
