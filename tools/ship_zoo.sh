#!/usr/bin/env bash
# Copy a training run's checkpoints + manifest into weights/ (python -m viz train --all --out DIR).
set -euo pipefail
src=${1:?usage: tools/ship_zoo.sh RUN_DIR}
cd "$(dirname "$0")/.."
python - "$src" <<'PY'
import json, sys
from pathlib import Path
src = Path(sys.argv[1])
m = json.loads((src / "manifest.json").read_text())
files = {e["file"] for e in m["checkpoints"].values()}
missing = [f for f in files if not (src / f).is_file()]
assert not missing, missing
PY
rm -f weights/zoo_*.safetensors
cp "$src"/zoo_*.safetensors weights/
cp "$src"/manifest.json weights/manifest.json
du -ch weights/zoo_*.safetensors | tail -1
