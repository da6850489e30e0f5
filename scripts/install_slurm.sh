#!/usr/bin/env bash
# Install a local Slurm + munge (Debian/Ubuntu) for the `slurm` tests and `make slurm-up`.
# Idempotent: does nothing when the binaries are already there. Never fails the caller:
# without root or apt it says what to do and exits 0 (the Slurm tests then skip with the reason).
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin"
need=(sbatch squeue sinfo scontrol scancel srun slurmctld slurmd munged munge mungekey)
missing=()
for bin in "${need[@]}"; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install_slurm: Slurm and munge already installed ($(slurmd -V))"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_slurm: missing ${missing[*]}; not root, so not installing." >&2
    echo "install_slurm: as root run: apt-get update && apt-get install -y slurm-wlm munge" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_slurm: missing ${missing[*]} and no apt-get here; install slurm-wlm and munge" \
        "with this system's package manager (the slurm tests skip until then)." >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
apt-get update -q
apt-get install -y -q slurm-wlm munge
echo "install_slurm: installed $(slurmd -V) in $(( $(date +%s) - start ))s"
