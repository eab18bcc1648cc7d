#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for r1pipe's Slurm tests (and to try launcher=slurm
# by hand): munge, slurmctld and slurmd from Debian's slurm-wlm packages, all state under DIR.
#
#   sudo apt-get install slurmd slurmctld slurm-client munge     # once (Debian/Ubuntu)
#   scripts/slurm/local_cluster.sh start DIR     # prints the SLURM_CONF to export
#   SLURM_CONF=DIR/slurm.conf sbatch --wait ...
#   scripts/slurm/local_cluster.sh stop DIR
#
# Needs root (slurmd runs jobs as their user; munged runs as the munge user). No cgroups:
# processes are tracked with proctrack/linuxproc, so it runs in containers too.
set -euo pipefail

action=${1:?usage: local_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: local_cluster.sh start|stop DIR}")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() {
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install slurmd slurmctld slurm-client munge" >&2; exit 2; }
  done
  mkdir -p "$dir/state" "$dir/spool"
  # munge: one daemon per machine; start it if none answers.
  if ! munge -n >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
    [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f; chown munge:munge /etc/munge/munge.key; }
    su -s /bin/sh munge -c /usr/sbin/munged
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
    # started here, so stopped here (a munged that was already running serves others: left alone)
    cp /run/munge/munged.pid "$dir/munged.started" 2>/dev/null || pgrep -n -x munged > "$dir/munged.started" || true
  fi
  local host cpus memory
  host=$(hostname -s)
  # The machine's CPUs: nproc alone would honour OMP_NUM_THREADS (1 under the parallel test run)
  # and declare a 1-CPU node on which a 2-CPU job pends forever (PartitionConfig).
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
  memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=r1pipe-local
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
# A requeued job waits until its old credential expires (default 120 s) before it starts again
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 100); do
    if sinfo -h -o %t 2>/dev/null | grep -qx idle; then echo "SLURM_CONF=$SLURM_CONF"; return 0; fi
    sleep 0.2
  done
  echo "the local Slurm did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
}

stop() {
  for daemon in slurmd slurmctld; do
    if [ -s "$dir/$daemon.pid" ]; then kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do
    pids=$(cat "$dir"/slurm*.pid 2>/dev/null || true)
    [ -z "$pids" ] && break
    alive=0; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  # Job step daemons of this cluster outlive slurmd (a slurmstepd blocks SIGTERM): end them.
  for pid in $(pgrep -x slurmstepd 2>/dev/null || true); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "SLURM_CONF=$dir/slurm.conf"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ -s "$dir/munged.started" ]; then
    kill "$(cat "$dir/munged.started")" 2>/dev/null || true
    rm -f "$dir/munged.started"
  fi
}

case $action in
  start) start ;;
  stop) stop ;;
  *) echo "usage: local_cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
