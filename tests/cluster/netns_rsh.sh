#!/bin/bash
# Open MPI's remote-shell agent for the netns tests (mpirun --mca
# plm_rsh_agent THIS): where ssh would log in to HOST, this runs the command
# in that emulated node's network namespace, under its own host name (a UTS
# namespace), so Open MPI's daemon (orted) and the ranks it starts see a
# separate node: its own address, its own name, /etc/hosts from
# /etc/netns/NS/hosts. Called by mpirun as: netns_rsh.sh HOST COMMAND...
# (COMMAND is one shell line, as ssh would pass it). HOST is nodeI or
# $NET.I; NODE_PREFIX (exported by netns_common.sh) names the namespaces.
set -euo pipefail
host=$1
shift
case $host in
  node[0-9]*) i=${host#node} ;;
  *.*.*.*) i=${host##*.} ;;
  *) echo "netns_rsh.sh: unknown node '$host'" >&2; exit 255 ;;
esac
ns="${NODE_PREFIX:?netns_rsh.sh needs NODE_PREFIX}n$i"
exec ip netns exec "$ns" unshare --uts bash -c "hostname node$i && $*"
