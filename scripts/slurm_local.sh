#!/usr/bin/env bash
# Start / stop a local one-node Slurm cluster (munged + slurmctld + slurmd) for trying the
# `slurm` executor by hand; every file (config, key, socket, state, logs) lives in one folder.
#   scripts/slurm_local.sh up       then: export SLURM_CONF=<printed path>
#   scripts/slurm_local.sh down | status
# Folder: $XSTILTS_SLURM_DIR, default <cache>/slurm (cache: $XSTILTS_CACHE or ~/.cache/xstilts).
# Needs root and the binaries (scripts/install_system_deps.sh). The same code backs the test fixture.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
[ -x "$python" ] || python=python3
dir="${XSTILTS_SLURM_DIR:-${XSTILTS_CACHE:-$HOME/.cache/xstilts}/slurm}"
action="${1:-}"
case "$action" in
    up | down | status) ;;
    *)
        echo "usage: $0 up|down|status   (cluster folder: $dir)" >&2
        exit 2
        ;;
esac
mkdir -p "$dir"
exec "$python" "$here/tests/slurm_cluster.py" "$action" "$dir"
