#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and brings Plinth up on its
# embedded defaults (demo lake on first run, control plane, inference tier, JupyterLab).
# Extra arguments go to `plinth up` (try --help).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
node_deps
python_env "$ROOT/scripts/requirements-lab.txt"
build
exec node "$ROOT/server/bin/plinth.js" up --venv "$VENV" "$@"
