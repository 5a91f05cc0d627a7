#!/usr/bin/env bash
# make demo: the whole pipeline on loopback. picket server is the central
# side (NSCA receiver into a command file, externals, registration with one
# profile, Nagios object files); picket run starts with no checks at all:
# it registers, pulls its signed externals, runs real plugins, spools and
# sends, and the command-file lines Nagios would read scroll by.
#
# It needs nothing beyond Go (and a POSIX shell): Nagios' plugins from
# monitoring-plugins-basic are optional, and where they are missing the
# checks that use them report UNKNOWN saying what was searched.
#
# Ctrl-C stops both cleanly. DEMO_SECONDS=N stops after N seconds (when
# the terminal is not interactive, after 30 unless it says otherwise).
# DEMO_KEEP=1 keeps the demo's folder (configs, logs, command file) and
# says where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin/picket
[ -x "$bin" ] || { echo "demo: $bin missing; run 'make build'"; exit 1; }
seconds=${DEMO_SECONDS:-}
keep=${DEMO_KEEP:-}
if [ -z "$seconds" ] && [ ! -t 0 ]; then seconds=30; fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/picket-demo.XXXXXX")
pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  summary
  if [ -n "$keep" ]; then
    echo "== kept: $dir (server.log, agent.log, central/nagios.cmd, central/objects, the configs)"
  else
    rm -rf "$dir"
  fi
}
# summary is the demo's last line: what reached Nagios' command file, per
# service, and how many errors the two logs hold.
summary() {
  local cmd="$dir/central/nagios.cmd" n=0 errors=0 per=""
  [ -f "$cmd" ] && n=$(grep -c 'PROCESS_' "$cmd" || true)
  [ -f "$cmd" ] && per=$(sed -n -e 's/.*PROCESS_SERVICE_CHECK_RESULT;[^;]*;\([^;]*\);.*/\1/p' -e 's/.*PROCESS_HOST_CHECK_RESULT;.*/(host)/p' "$cmd" | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
  errors=$(cat "$dir/server.log" "$dir/agent.log" 2>/dev/null | grep -c 'level=ERROR' || true)
  echo "== summary: $n results reached the command file${per:+ ($per)}; $errors errors in the logs"
}
trap cleanup EXIT
trap 'echo; echo "== stopping"; exit 0' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
wait_log() { # file pattern pid
  for _ in $(seq 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1"; return 1; }
    sleep 0.05
  done
  echo "demo: timed out waiting for '$2' in $1"; cat "$1"; return 1
}

umask 077
mkdir -p "$dir/central/profiles" "$dir/central/objects" "$dir/agent"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/central/nsca.secret"
cp "$dir/central/nsca.secret" "$dir/agent/nsca.secret"
token=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# one registration token per line\n%s\n' "$token" > "$dir/central/register.tokens"
printf '%s\n' "$token" > "$dir/agent/register.token"
: > "$dir/central/nagios.cmd"
nsca_port=$(free_port); http_port=$(free_port)

echo "== picket server keygen: the key that signs every externals file"
public_key=$("$bin" server keygen --key "$dir/central/externals.key" 2>/dev/null)
echo "   $public_key"

# One profile for every Linux host, with plugins a fresh machine has (from
# monitoring-plugins-basic when installed; the agent says so when not).
cat > "$dir/central/profiles.toml" <<'TOML'
templates_dir = "profiles"   # <profile>.toml templates, beside this file

[[rule]]
profile = "linux"
os = "linux"
TOML
cat > "$dir/central/profiles/linux.toml" <<'TOML'
# externals of {{.Host}}, rendered from the "linux" profile
[defaults]
interval = "5s"
timeout = "10s"

[[check]]
service = "load"
command = "check_load -w 50,40,30 -c 100,80,60"

[[check]]
service = "disk_root"
command = "check_disk -w 10% -c 5% -p /"

[[check]]
service = "procs"
command = "check_procs -w 2000 -c 4000"

[[check]]
service = "registered"
command = "check_dummy 0 'registered as {{.Host}} ({{.OSVersion}}, {{.Arch}})'"
TOML
cat > "$dir/central/server.toml" <<TOML
state_dir = "$dir/central/state"

[nsca]
listen = "127.0.0.1:$nsca_port"
encryption = "aes256"
password_file = "$dir/central/nsca.secret"
command_file = "$dir/central/nagios.cmd"   # a real Nagios has a FIFO here

[http]
listen = "127.0.0.1:$http_port"            # plain HTTP on loopback; set tls_cert and tls_key elsewhere

[externals]
dir = "$dir/central/externals"
signing_key = "$dir/central/externals.key"

[registration]
tokens_file = "$dir/central/register.tokens"
profiles = "$dir/central/profiles.toml"

[nagios]
objects_dir = "$dir/central/objects"       # nagios.cfg would include it with cfg_dir
validate_command = ""                      # e.g. "nagios4 -v /etc/nagios4/nagios.cfg"
TOML

echo "== starting picket server: NSCA on 127.0.0.1:$nsca_port, HTTP on 127.0.0.1:$http_port"
"$bin" server --config "$dir/central/server.toml" 2> "$dir/server.log" &
pids+=($!)
wait_log "$dir/server.log" "HTTP listening" "${pids[0]}"

cat > "$dir/agent/picket.toml" <<TOML
# As an installer leaves it: where to send, where to register. No checks.
plugin_dirs = ["/usr/lib/nagios/plugins"]
state_dir = "$dir/agent/state"

[[target]]
address = "127.0.0.1:$nsca_port"
encryption = "aes256"
password_file = "$dir/agent/nsca.secret"

[externals]
url = "http://127.0.0.1:$http_port/externals/"
$public_key
interval = "10s"

[autoreg]
url = "http://127.0.0.1:$http_port/v1/register"
token_file = "$dir/agent/register.token"
metadata = ["demo"]

[health]
interval = "10s"
TOML
[ -x /usr/lib/nagios/plugins/check_load ] || echo "   (monitoring-plugins-basic is not installed: the plugin checks will report UNKNOWN, saying what was searched)"

echo "== starting picket run with no externals: it registers, then pulls what it is assigned"
"$bin" run --config "$dir/agent/picket.toml" 2> "$dir/agent.log" &
pids+=($!)
wait_log "$dir/agent.log" "externals updated" "${pids[1]}"
grep -E 'externals for this host|registering|registered|externals updated' "$dir/agent.log" | sed 's/^time=[^ ]* //; s/^/   agent: /'
host=$(sed -n 's/.*msg=registered .* host=\([^ ]*\) profile=.*/\1/p' "$dir/agent.log" | head -1)
echo "== the externals picket server rendered for $host (signed: $(ls "$dir/central/externals" | tr '\n' ' '))"
sed 's/^/   /' "$dir/central/externals/$host.toml"
wait_log "$dir/server.log" "Nagios objects updated" "${pids[0]}" >/dev/null || true
echo "== the Nagios objects it wrote ($dir/central/objects/$host.cfg): the host and its first service"
awk '/^define /{n++} n>=1 && n<=2 {print} /^}/ && n==2 {exit}' "$dir/central/objects/$host.cfg" 2>/dev/null | sed 's/^/   /'
"$bin" server hosts --config "$dir/central/server.toml" 2>/dev/null | sed 's/^/   /'

if [ -n "$seconds" ]; then
  echo "== what Nagios receives in its command file, for $seconds seconds"
else
  echo "== what Nagios receives in its command file (Ctrl-C stops)"
fi
tail -n +1 -f "$dir/central/nagios.cmd" &
pids+=($!)
if [ -n "$seconds" ]; then sleep "$seconds"; else while :; do sleep 1; done; fi
echo "== stopping"
