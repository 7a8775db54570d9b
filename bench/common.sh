# Sourced by the bench scripts: strict mode, $here, $root, and $scale from `--scale smoke|full`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scale=full
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    *) echo "unknown argument $1 (use --scale smoke|full)" >&2; exit 2 ;;
  esac
done
case "$scale" in smoke | full) ;; *) echo "unknown scale $scale (smoke or full)" >&2; exit 2 ;; esac
