#!/usr/bin/env bash
# Start a private single-node SLURM (munged + slurmctld + slurmd on localhost) under STATE_DIR.
#
#   bash tests/slurm/start_slurm.sh STATE_DIR      # prints the config path on success
#   sinfo; sbatch --wrap hostname; ...             # talk to it
#   bash tests/slurm/stop_slurm.sh STATE_DIR
#
# Everything (munge key and socket, spool, state, logs, pid files) lives in STATE_DIR, except
# the config itself: it must be at /etc/slurm/slurm.conf because the executor's job step strips
# SLURM_* variables (SLURM_CONF included) before its nested `srun`. The script refuses to replace
# a slurm.conf it did not write; stop_slurm.sh removes it again. Ports are picked free at start. Needs Debian's `slurm-wlm` and `munge` (tests/setup_system.sh) and root
# (slurmd must start jobs as the submitting user). Exits non-zero with the daemon logs on stderr
# when anything fails, so the caller can report why.
set -euo pipefail

STATE_DIR="${1:?usage: start_slurm.sh STATE_DIR}"
WAIT_S="${SLURM_START_TIMEOUT:-60}"
mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"

die() {
  echo "start_slurm.sh: $*" >&2
  for log in "$STATE_DIR"/log/*.log; do
    [ -f "$log" ] || continue
    echo "----- $log (last 40 lines) -----" >&2
    tail -n 40 "$log" >&2
  done
  exit 1
}

for tool in munged slurmctld slurmd sinfo sbatch squeue scontrol; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "'$tool' not found: install Debian packages slurm-wlm and munge (bash tests/setup_system.sh)"
done
[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd runs jobs as the submitting user; CI runs as root)"

mkdir -p "$STATE_DIR"/{munge,log,spool,state,run}
chmod 755 "$STATE_DIR"/munge  # socket dir must be traversable; the key itself is 0400

# --- munge: own key, socket, pid and log -----------------------------------------------------
KEY="$STATE_DIR/munge/munge.key"
[ -f "$KEY" ] || { head -c 1024 /dev/urandom > "$KEY"; chmod 400 "$KEY"; }
SOCKET="$STATE_DIR/munge/munge.socket"
munged --force --key-file="$KEY" --socket="$SOCKET" \
  --pid-file="$STATE_DIR/run/munged.pid" --log-file="$STATE_DIR/log/munged.log" \
  --seed-file="$STATE_DIR/munge/munged.seed" \
  || die "munged failed to start"
for _ in $(seq 1 50); do [ -S "$SOCKET" ] && break; sleep 0.1; done
[ -S "$SOCKET" ] || die "munged socket $SOCKET did not appear"
echo ok | munge --socket="$SOCKET" | unmunge --socket="$SOCKET" >/dev/null \
  || die "munge round trip failed"

# --- slurm.conf --------------------------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
CTLD_PORT="$(free_port)"
SLURMD_PORT="$(free_port)"
while [ "$SLURMD_PORT" = "$CTLD_PORT" ]; do SLURMD_PORT="$(free_port)"; done
HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM_TOTAL_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
# Leave room for the OS; REFERENCE.md uses ~20000 on a 24 GiB box.
REAL_MEM_MB=$(( MEM_TOTAL_MB * 83 / 100 ))
[ "$REAL_MEM_MB" -gt 20000 ] && REAL_MEM_MB=20000

MARKER="# echocmr test cluster, written by tests/slurm/start_slurm.sh"
CONF=/etc/slurm/slurm.conf
if [ -f "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
  die "$CONF exists and was not written by this script: refusing to replace a real SLURM config"
fi
mkdir -p /etc/slurm
cat > "$STATE_DIR/slurm.conf" <<EOF
$MARKER
# state: ${STATE_DIR}
ClusterName=echocmrtest
SlurmctldHost=${HOST}(127.0.0.1)
SlurmctldPort=${CTLD_PORT}
SlurmdPort=${SLURMD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${SOCKET}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
StateSaveLocation=${STATE_DIR}/state
SlurmdSpoolDir=${STATE_DIR}/spool
SlurmctldPidFile=${STATE_DIR}/run/slurmctld.pid
SlurmdPidFile=${STATE_DIR}/run/slurmd.pid
SlurmctldLogFile=${STATE_DIR}/log/slurmctld.log
SlurmdLogFile=${STATE_DIR}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue for 10 minutes: the executor's squeue status mode needs it.
MinJobAge=600
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
# Trust the configured CPUs/memory even when the machine reports slightly different values.
SlurmdParameters=config_overrides
NodeName=${HOST} NodeAddr=127.0.0.1 NodeHostname=${HOST} CPUs=${CPUS} RealMemory=${REAL_MEM_MB} State=UNKNOWN
PartitionName=main Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
EOF
cp "$STATE_DIR/slurm.conf" "$CONF"
export SLURM_CONF="$CONF"

# --- daemons -----------------------------------------------------------------------------------
slurmctld -f "$CONF" -i || die "slurmctld failed to start"
for _ in $(seq 1 "$((WAIT_S * 2))"); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
scontrol ping 2>/dev/null | grep -q UP || die "slurmctld did not answer 'scontrol ping' within ${WAIT_S}s"
slurmd -f "$CONF" -N "$HOST" || die "slurmd failed to start"

# --- wait until the node is idle ---------------------------------------------------------------
state=""
for _ in $(seq 1 "$((WAIT_S * 2))"); do
  state="$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n1 || true)"
  [ "$state" = "idle" ] && break
  sleep 0.5
done
[ "$state" = "idle" ] || die "node $HOST not idle after ${WAIT_S}s (state: '${state:-none}'; sinfo -R: $(sinfo -h -R 2>&1 | tr '\n' ' '))"
echo "$CONF"
