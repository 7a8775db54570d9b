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

# A free port on loopback for a server started by the script.
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
# Waits until a server answers `url` (gives up when its process `pid` exits, or after 120 s).
wait_http() { # url, what, pid
  for _ in $(seq 1 240); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    kill -0 "$3" 2>/dev/null || { echo "$2 exited before it answered $1" >&2; return 1; }
    sleep 0.5
  done
  echo "$2 did not answer $1 within 120 s" >&2
  return 1
}
