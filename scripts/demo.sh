#!/usr/bin/env bash
# make demo: picket server as the NSCA receiver on loopback, real Nagios
# plugins (when installed) run and their results sent with picket send, and
# the command-file lines Nagios would read printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/picket
[ -x "$bin" ] || { echo "demo: $bin missing; run 'make build'"; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/picket-demo.XXXXXX")
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/nsca.secret"
: > "$dir/nagios.cmd"
cat > "$dir/server.toml" <<TOML
[nsca]
listen = "127.0.0.1:0"           # any free port; the log says which
encryption = "aes256"            # NSCA method 14, Rijndael-128 with a 256-bit key
password_file = "$dir/nsca.secret"
command_file = "$dir/nagios.cmd" # a real Nagios has a FIFO here
TOML

echo "== starting picket server (NSCA receiver)"
"$bin" server --config "$dir/server.toml" 2> "$dir/server.log" &
server_pid=$!
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's/.*NSCA receiver listening" addr=\([^ ]*\).*/\1/p' "$dir/server.log")
  [ -n "$addr" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.log"; exit 1; }
  sleep 0.05
done
[ -n "$addr" ] || { echo "demo: server did not start"; cat "$dir/server.log"; exit 1; }
port=${addr##*:}
echo "   listening on $addr"

printf 'password=%s\nencryption_method=14\n' "$(cat "$dir/nsca.secret")" > "$dir/send_nsca.cfg"

# Results from real plugins when monitoring-plugins is installed.
plugins=/usr/lib/nagios/plugins
host=$(hostname -s 2>/dev/null || echo demo-host)
records=""
add() { # host service rc output
  if [ -n "$2" ]; then records+="$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\x17'
  else records+="$1"$'\t'"$3"$'\t'"$4"$'\x17'; fi
}
run_plugin() { # service plugin args...
  local svc=$1; shift
  if [ -x "$plugins/$1" ]; then
    local out rc=0
    out=$("$plugins/$@" 2>&1) || rc=$?
    add "$host" "$svc" "$rc" "$out"
    echo "   ran $1: exit $rc"
  fi
}
echo "== running plugins"
run_plugin load check_load -w 50,40,30 -c 100,80,60
run_plugin disk_root check_disk -w 10% -c 5% -p /
run_plugin users check_users -w 50 -c 100
add "$host" "" 0 "host is up (host check result)"
add "$host" "multi_line" 1 $'WARNING - first line | a=1;2;3\nsecond line of long output\nthird line with a \\ backslash'

echo "== picket send -H 127.0.0.1 -p $port -c send_nsca.cfg"
printf '%s' "$records" | "$bin" send -H 127.0.0.1 -p "$port" -c "$dir/send_nsca.cfg"

want=$(printf '%s' "$records" | tr -cd '\027' | wc -c)
for _ in $(seq 100); do
  [ "$(wc -l < "$dir/nagios.cmd")" -ge "$want" ] && break
  sleep 0.05
done
echo "== what Nagios receives in its command file ($dir/nagios.cmd)"
cat "$dir/nagios.cmd"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
echo "== picket server log"
cat "$dir/server.log"
