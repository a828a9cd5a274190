# shellcheck shell=bash
# Sourced by the tests/cluster/netns_*.sh tests: emulated nodes made of Linux
# network namespaces, each its own network stack, joined by veth pairs to a
# bridge in node 1, so processes in different nodes talk over real (virtual)
# links that a test can cut. The file system is shared, as on a cluster with
# a shared run directory. Everything made here is removed on exit, failure
# included: the processes in the nodes, then the nodes (their veths go with
# them; no veth is ever left in the host's namespace).
#
# Environment: WORK (a fresh folder for this test), CONDENSER, PYTHON, DATA.
set -euo pipefail

# fail WHY: the reason, then the end of each log the test wrote, then exit 1.
fail() {
  echo "FAIL: $*"
  local f
  for f in "$WORK"/*.log; do
    [ -f "$f" ] && { echo "--- ${f##*/}:"; tail -n 12 "$f"; }
  done
  exit 1
}
skip() { echo "skipped: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "network namespaces need root (running as uid $(id -u))"
command -v ip >/dev/null || skip "no 'ip' command (iproute2)"

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

NET=10.77.0         # the nodes' /24; node I is $NET.I (namespaces do not share it)
NODES=()            # namespace names, node 1 first
export NODE_PREFIX="cnd$$" # unique per test process (netns_rsh.sh reads it)

# Kills what runs inside our nodes (by pid, listed by `ip netns pids`), then
# deletes the nodes. Runs on every exit.
cleanup_nodes() {
  local ns pid
  for ns in "${NODES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for ns in "${NODES[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  # /etc/netns goes too if one of these tests made it and nothing else is in it.
  if [ -e "$ETC_NETNS_MARK" ] && [ "$(ls -A /etc/netns)" = "${ETC_NETNS_MARK##*/}" ]; then
    rm -f "$ETC_NETNS_MARK"
    rmdir /etc/netns 2>/dev/null || true
  fi
}
trap cleanup_nodes EXIT
trap 'exit 143' TERM  # so that the EXIT trap runs on a signal too
trap 'exit 130' INT

# Nodes of an earlier run of these tests that was SIGKILLed (a ctest
# timeout) are named after its dead pid: remove them first.
sweep_dead_nodes() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | grep -oE '^cnd[0-9]+n[0-9]+' || true); do
    pid=${ns#cnd}
    pid=${pid%n*}
    kill -0 "$pid" 2>/dev/null && continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
}

# node_ns I: the namespace of node I.
node_ns() { echo "${NODES[$(($1 - 1))]}"; }
# on_node I COMMAND...: runs COMMAND in node I (exec'd: `on_node 2 cmd &` gives cmd's pid).
on_node() { local ns; ns=$(node_ns "$1"); shift; ip netns exec "$ns" "$@"; }
# link_down I / link_up I: node I's link to the bridge (its eth0) goes down / up.
link_down() { ip -n "$(node_ns "$1")" link set eth0 down; }
link_up() { ip -n "$(node_ns "$1")" link set eth0 up; }

# make_nodes N: nodes 1..N. Node 1 holds the bridge br0 ($NET.1); node I > 1
# has eth0 ($NET.I), a veth whose peer is a port of br0. Skips the test (exit
# 0) when namespaces cannot be made here (a container without CAP_SYS_ADMIN).
make_nodes() {
  local n=$1 i ns err
  sweep_dead_nodes
  for i in $(seq 1 "$n"); do
    ns="${NODE_PREFIX}n$i"
    if ! err=$(ip netns add "$ns" 2>&1); then
      [ "$i" = 1 ] && skip "ip netns add is not permitted here: $err"
      fail "ip netns add $ns: $err"
    fi
    NODES+=("$ns")
    ip -n "$ns" link set lo up
  done
  local hub; hub=$(node_ns 1)
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" addr add "$NET.1/24" dev br0
  ip -n "$hub" link set br0 up
  for i in $(seq 2 "$n"); do
    ns=$(node_ns "$i")
    ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$hub"
    ip -n "$hub" link set "p$i" master br0
    ip -n "$hub" link set "p$i" up
    ip -n "$ns" addr add "$NET.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  # Every node reaches node 1 over TCP before the test starts (links and
  # bridge ports come up asynchronously).
  for i in $(seq 2 "$n"); do
    wait_for 10 "node $i to reach node 1" reaches "$i" "$NET.1"
  done
}

# name_nodes: every node resolves nodeI to $NET.I: `ip netns exec` mounts
# /etc/netns/NS/hosts over /etc/hosts (removed on exit; /etc/netns too, once
# empty, if one of these tests made it: ETC_NETNS_MARK says so). Host names
# come with netns_rsh.sh's UTS namespace.
ETC_NETNS_MARK=/etc/netns/.made-by-condenser-netns-tests
name_nodes() {
  local ns i
  if mkdir /etc/netns 2>/dev/null; then : >"$ETC_NETNS_MARK"; fi
  for ns in "${NODES[@]}"; do
    mkdir -p "/etc/netns/$ns"
    { echo "127.0.0.1 localhost"
      for i in $(seq 1 ${#NODES[@]}); do echo "$NET.$i node$i"; done; } >"/etc/netns/$ns/hosts"
  done
}

# mpirun_nodes RANKS_AT ARGS...: mpirun in node 1 starting one rank on each
# node of RANKS_AT (e.g. node2:1,node3:1) through netns_rsh.sh; Open MPI's
# daemons and the ranks' messages use TCP on the nodes' links only (no
# shared memory, no loopback). Keepalives on the daemons' connections let
# mpirun notice a node cut off (~6 s) instead of waiting for it for good.
mpirun_nodes() {
  local hosts=$1
  shift
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 on_node 1 timeout 150 \
    mpirun -n "$(tr ',' '\n' <<<"$hosts" | wc -l)" --host "$hosts" \
    --mca plm_rsh_agent "$(dirname "${BASH_SOURCE[0]}")/netns_rsh.sh" \
    --mca oob_tcp_if_include "$NET.0/24" --mca oob_tcp_keepalive_time 3 \
    --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3 \
    --mca btl tcp,self --mca btl_tcp_if_include "$NET.0/24" "$@"
}

# reaches I ADDRESS: node I connects to ADDRESS:9 (closed port: a refusal
# proves the path works; a timeout or "unreachable" does not).
reaches() {
  local out
  out=$(on_node "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1) && return 0
  grep -q "refused" <<<"$out"
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local end=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.1
  done
}

# http_get I URL: the body of GET URL from node I (5 s at most), or exit 1.
http_get() {
  on_node "$1" "$PYTHON" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$2" 2>/dev/null
}

# since T: seconds from T (date +%s.%N) to now, one decimal.
since() { awk -v t="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - t }'; }

# True when PID has exited (a zombie counts: its parent reaps it with wait).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
