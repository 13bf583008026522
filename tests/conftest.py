"""The shared helpers of the tests (``tiny_backbone``, ``scene_fixtures``) import by name from any
test folder: tests/ is put on ``sys.path`` here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
