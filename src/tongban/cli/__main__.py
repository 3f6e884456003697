"""``python -m tongban.cli``: the same commands as ``tongban``."""

from tongban.cli import app

if __name__ == "__main__":
    app()
