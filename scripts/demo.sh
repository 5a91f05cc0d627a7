#!/usr/bin/env bash
# make demo: picket server as the NSCA receiver on loopback, the picket agent
# running real Nagios plugins (when installed) on their schedules and sending
# the results over NSCA, and the command-file lines Nagios would read.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/picket
[ -x "$bin" ] || { echo "demo: $bin missing; run 'make build'"; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/picket-demo.XXXXXX")
server_pid=""
agent_pid=""
cleanup() {
  [ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null || true
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

# The agent: real plugins when monitoring-plugins is installed, a drop-in
# plugin of its own, and two checks that fail on purpose.
mkdir -p "$dir/plugins.d"
cat > "$dir/plugins.d/check_demo" <<'SH'
#!/bin/sh
echo "DEMO WARNING - first line | a=1;2;3"
echo "second line of long output"
echo "third line with a \\ backslash"
exit 1
SH
chmod 755 "$dir/plugins.d/check_demo"
cat > "$dir/picket.toml" <<TOML
hostname = "demo-host"
plugin_dirs = ["/usr/lib/nagios/plugins", "$dir/plugins.d"]
spool_dir = "$dir/spool"

[[target]]
address = "$addr"
encryption = "aes256"
password_file = "$dir/nsca.secret"

[defaults]
interval = "2s"

[[check]]
service = "load"
command = "check_load -w 50,40,30 -c 100,80,60"

[[check]]
service = "disk_root"
command = "check_disk -w 10% -c 5% -p /"

[[check]]
service = "users"
command = "check_users -w 50 -c 100"

[[check]]
service = "demo"
command = "check_demo"

[[check]]
service = "hung_plugin"
command = "sleep 60"
shell = true
timeout = "1s"

[[check]]
service = "missing_plugin"
command = "check_not_installed -x"
TOML
[ -x /usr/lib/nagios/plugins/check_load ] || echo "   (monitoring-plugins-basic is not installed: load, disk_root and users will say so)"

echo "== picket config check picket.toml (effective config, secrets masked)"
"$bin" config check "$dir/picket.toml" | sed -n '1,12p'
echo "   ..."
echo "== picket check --config picket.toml (runs every check once, now)"
"$bin" check --config "$dir/picket.toml" || echo "   (exit $?: the worst state, as a plugin's)"

echo "== picket run --config picket.toml for 4 seconds"
"$bin" run --config "$dir/picket.toml" 2> "$dir/agent.log" &
agent_pid=$!
sleep 4
echo "   $(wc -l < "$dir/nagios.cmd") results received so far"

echo "== the server goes down for 4 seconds; the agent keeps every result in its spool"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
sleep 4
"$bin" spool stats --config "$dir/picket.toml" | sed 's/^/   /'

echo "== the server comes back on $addr; the agent catches up from its spool"
sed "s/^listen = .*/listen = \"$addr\"/" "$dir/server.toml" > "$dir/server2.toml"
"$bin" server --config "$dir/server2.toml" 2>> "$dir/server.log" &
server_pid=$!
sleep 3
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
sleep 0.5
"$bin" spool stats --config "$dir/picket.toml" | sed 's/^/   /'

echo "== what Nagios receives in its command file ($dir/nagios.cmd)"
cat "$dir/nagios.cmd"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
echo "== picket run log"
cat "$dir/agent.log"
echo "== picket server log"
cat "$dir/server.log"
