# Shared steps of scripts/up.sh and scripts/test-all.sh. Each step is idempotent and fast
# when there is nothing to do, so both commands can be run again at any time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PLINTH_VENV:-$ROOT/.venv}"
export PLINTH_VENV="$VENV"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
STAMPS="$ROOT/node_modules/.plinth-stamps"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Runs a step only when its inputs changed since the last successful run.
changed() { # name files...
  local name="$1"; shift
  local sum; sum="$(cat "$@" 2>/dev/null | sha256sum | cut -c1-16)"
  mkdir -p "$STAMPS"
  [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$sum" ]] && return 1
  echo "$sum" > "$STAMPS/$name.pending"; return 0
}
stamp() { mkdir -p "$STAMPS"; mv "$STAMPS/$1.pending" "$STAMPS/$1"; }

need() { command -v "$1" >/dev/null 2>&1 || { echo "plinth: '$1' is required but not installed ($2)" >&2; exit 1; }; }

node_deps() {
  need node "Node.js 20.19 or newer"; need npm "npm"
  if [[ ! -d "$ROOT/node_modules" ]] || changed npm "$ROOT/package-lock.json"; then
    say "Installing npm dependencies"
    # Dependency install scripts stay off: every native package used ships its prebuilt
    # binary, and onnxruntime-node's script would only download CUDA files. `npm install`
    # rather than `npm ci`: the lock pins every version, but npm ci also insists on optional
    # packages for other platforms (rollup's) that a registry may not carry at that version.
    (cd "$ROOT" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
    # npm ci replaced node_modules, and the stamps with it.
    changed npm "$ROOT/package-lock.json" || true
    stamp npm
  fi
}

python_env() { # requirements file
  local req="$1"
  need python3 "Python 3.10 or newer"
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "Creating the Python environment in $VENV"
    python3 -m venv "$VENV"
  fi
  if changed "pip-$(basename "$req")" "$req" "$ROOT/scripts/requirements-lab.txt"; then
    say "Installing Python packages ($(basename "$req"))"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    stamp "pip-$(basename "$req")"
  fi
  if [[ ! -f "$VENV/share/jupyter/kernels/tslab/kernel.json" ]] || ! grep -q "$ROOT/node_modules/.bin/tslab" "$VENV/share/jupyter/kernels/tslab/kernel.json"; then
    say "Registering the TypeScript kernel (tslab)"
    "$ROOT/node_modules/.bin/tslab" install --python="$VENV/bin/python" --sys-prefix --binary="$ROOT/node_modules/.bin/tslab" >/dev/null
  fi
}

build() {
  say "Building"
  export PATH="$VENV/bin:$PATH"
  (cd "$ROOT" && npm run --silent build)
  # The labextension's package.json names its hashed bundle, so it changes with the code.
  local installed=1
  "$VENV/bin/jupyter" labextension list 2>&1 | grep -q "@plinth/jupyterlab.*OK" || installed=0
  if changed ext "$ROOT/extension/plinth_jupyterlab/labextension/package.json" "$ROOT/extension/pyproject.toml" || [[ $installed == 0 ]]; then
    say "Installing the JupyterLab extension"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$ROOT/extension"
    [[ -f "$STAMPS/ext.pending" ]] && stamp ext
  fi
}
