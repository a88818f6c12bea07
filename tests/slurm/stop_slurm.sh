#!/usr/bin/env bash
# Stop the private SLURM started by start_slurm.sh STATE_DIR: cancel its jobs, then stop slurmd,
# slurmctld and munged by the pid files in STATE_DIR (never by name, so nothing else is touched),
# and remove the /etc/slurm/slurm.conf it wrote.
set -uo pipefail

STATE_DIR="${1:?usage: stop_slurm.sh STATE_DIR}"
CONF=/etc/slurm/slurm.conf
# Ours only if it names this state folder (start_slurm.sh writes that line).
ours=false
[ -f "$CONF" ] && grep -qxF "# state: $(cd "$STATE_DIR" 2>/dev/null && pwd)" "$CONF" && ours=true

if $ours && [ -f "$STATE_DIR/run/slurmctld.pid" ]; then
  timeout 10 scancel --quiet --user="$(id -un)" 2>/dev/null || true
fi

stop_pid_file() {
  local pid_file="$1" pid
  [ -f "$pid_file" ] || return 0
  pid="$(cat "$pid_file" 2>/dev/null)"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

stop_pid_file "$STATE_DIR/run/slurmd.pid"
stop_pid_file "$STATE_DIR/run/slurmctld.pid"
stop_pid_file "$STATE_DIR/run/munged.pid"
if $ours; then rm -f "$CONF"; fi
exit 0
