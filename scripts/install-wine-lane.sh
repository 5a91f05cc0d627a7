#!/usr/bin/env bash
# Installs, from Debian's packages, what the Windows lane of `make test`
# (internal/wintest) needs beyond the Linux peers: Wine 8.0, 64-bit only (no
# i386 architecture: picket.exe is amd64), and the mingw-w64 cross compiler
# that builds the test's ProcessPrng shim. The lane also uses nsca, wixl and
# msitools, which the project's peer install brings with the other peers; the
# packages here belong in that list too.
#
# Usage: scripts/install-wine-lane.sh   (as root, or with sudo available)
set -euo pipefail

pkgs=(wine wine64 gcc-mingw-w64-x86-64 nsca wixl msitools)
need=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
[ ${#need[@]} -gt 0 ] || exit 0

echo "== installing the Windows lane's packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# Keep the packages' own daemons (nsca) from starting: tests start their
# own on 127.0.0.1 and stop them by pid.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod +x /usr/sbin/policy-rc.d
	made_policy=1
fi
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
[ -z "$made_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
