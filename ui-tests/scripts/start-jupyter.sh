#!/usr/bin/env bash
# Starts JupyterLab for the UI tests: the venv's JupyterLab with the freshly built Plinth
# extension installed and Galata's test server configuration. Stays in the foreground.
#
# env: PLINTH_VENV (default ../.venv, relative to ui-tests/), PLINTH_UI_JUPYTER_PORT (18888)
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$(cd "${PLINTH_VENV:-../.venv}" && pwd)"
ext=../extension
if [[ ! -x "$venv/bin/jupyter" ]]; then
  echo "No JupyterLab in $venv (set PLINTH_VENV to the venv with jupyterlab and jupyter-server-proxy)" >&2
  exit 1
fi
if [[ ! -f "$ext/plinth_jupyterlab/labextension/static/style.js" ]]; then
  echo "The extension is not built: run 'npm run build -w @plinth/jupyterlab' with the venv on PATH" >&2
  exit 1
fi

# Package what was just built (the build hook skips the JS build, so this needs no network).
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$ext"

export JUPYTERLAB_GALATA_ROOT_DIR="${JUPYTERLAB_GALATA_ROOT_DIR:-$(mktemp -d -t plinth-galata-XXXXXX)}"
exec "$venv/bin/jupyter" lab --config "$PWD/jupyter_server_test_config.py"
