"""What the tests share: factories, servers, workers, the sandbox fixtures, the browser."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent  # the tests folder
REPO = TESTS.parent
