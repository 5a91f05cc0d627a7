#!/usr/bin/env bash
# The real peers `make test` runs against, from Debian's packages: this
# installs the ones missing (as root, or through sudo without a password),
# saying which, or fails at once with the one command that does.
#
# The packages' own daemons (nsca, nagios4, icinga2) must not start: the
# tests start private instances on 127.0.0.1 and stop them by pid, and a
# daemon started here would be this machine's to keep. So the install runs
# under a policy-rc.d that refuses starts, made for the install and
# removed after it, unless one was already there.
set -euo pipefail

packages=(
  # NSCA both ways, Nagios itself, the plugins the checks run, Icinga 2,
  # a CONNECT proxy for agents behind one
  nsca nsca-client nagios4-core monitoring-plugins-basic icinga2 tinyproxy
  # packaging: rpm reads the rpm, systemd gives systemd-analyze (not
  # systemd-sysv: init stays as it is), wixl/msitools build and read the
  # MSI, osslsigncode and openssl sign it, puppet* test the Puppet module
  rpm systemd wixl msitools osslsigncode openssl puppet puppet-lint ruby-rspec-puppet
  # the Windows lane: 64-bit Wine runs picket.exe (no i386 needed), mingw
  # builds the ProcessPrng shim Wine 8.0 lacks
  wine wine64 gcc-mingw-w64-x86-64
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "make test needs Debian packages that are missing: ${missing[*]}" >&2
  echo "install them as root with:  $cmd" >&2
  exit 1
fi

echo "== installing the test peers from Debian's packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
trap '[ -z "$made_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d' EXIT
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
