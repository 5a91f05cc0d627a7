#!/usr/bin/env bash
# Builds the picket deb and rpm for one architecture with nfpm (nfpm.yaml
# beside this script) and prints the two paths, one per line, on stdout.
#
#   VERSION=1.2.3 ARCH=amd64 BIN=dist/picket-linux-amd64 OUT=dist \
#   SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) packaging/linux/build.sh
#
# VERSION            1.2.3, 1.2.3+4.gabc1234 (as `make package` gives it),
#                    1.2.3-rc1 or 1.2.3-rc1+4.gabc1234; a leading v is
#                    dropped. A pre-release's "-" becomes "~", which both
#                    dpkg and rpm sort before the release, so the package
#                    version is e.g. 1.2.3~rc1+4.gabc1234.
# ARCH               amd64 or arm64 (rpm: x86_64 or aarch64)
# BIN                picket built for linux/ARCH
# OUT                output folder, created if missing
# SOURCE_DATE_EPOCH  the date of every file and header in the packages:
#                    two builds with the same inputs are byte-identical
# NFPM               the command that runs nfpm (optional)
#
# Output: $OUT/picket_<version>_<ARCH>.deb and
#         $OUT/picket-<version>-1.<rpm arch>.rpm
# Relative BIN and OUT are taken from the caller's folder; the script runs
# from any folder.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
	echo "packaging/linux/build.sh: $*" >&2
	exit 1
}

for v in VERSION ARCH BIN OUT SOURCE_DATE_EPOCH; do
	if [ -z "${!v:-}" ]; then
		die "$v is not set. Usage: VERSION=1.2.3 ARCH=amd64|arm64 BIN=path/to/picket OUT=dir SOURCE_DATE_EPOCH=\$(git log -1 --format=%ct) $0"
	fi
done

[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH is not a number of seconds since 1970"

case "$ARCH" in
amd64) rpmarch=x86_64 elf_machine="3e 00" ;;
arm64) rpmarch=aarch64 elf_machine="b7 00" ;;
*) die "ARCH=$ARCH: want amd64 or arm64" ;;
esac

# Package version: VERSION made valid for both dpkg and rpm. Neither takes
# "-" in an upstream version (it separates the release).
v=${VERSION#v}
base=${v%%+*}
meta=""
if [[ $v == *+* ]]; then
	meta=${v#*+}
fi
if [[ $base == *-* ]]; then
	pre=${base#*-}
	base="${base%%-*}~${pre//-/.}"
fi
meta=${meta//-/.}
meta=${meta//+/.}
pkgver=$base${meta:++$meta}
[[ $pkgver =~ ^[0-9][0-9A-Za-z.~+]*$ ]] ||
	die "VERSION=$VERSION: want digits first, then letters, digits and . + - ~ only (e.g. 1.2.3 or 1.2.3+4.gabc1234)"

[ -f "$BIN" ] || die "BIN=$BIN: no such file"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
# Refuse to package a binary for another system or architecture: the ELF
# magic, then e_machine (little-endian, at byte 18).
magic=$(od -An -tx1 -N4 "$BIN" | tr -s ' ' | sed 's/^ //')
machine=$(od -An -tx1 -j18 -N2 "$BIN" | tr -s ' ' | sed 's/^ //')
[ "$magic" = "7f 45 4c 46" ] || die "BIN=$BIN is not a Linux (ELF) binary"
[ "$machine" = "$elf_machine" ] || die "BIN=$BIN is not built for $ARCH (ELF machine $machine)"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# nfpm is pinned at v2.45.2 because newer versions depend on Go modules
# that the module proxy we build with refuses.
NFPM=${NFPM:-go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}
read -r -a nfpm <<<"$NFPM"

deb="$OUT/picket_${pkgver}_${ARCH}.deb"
rpm="$OUT/picket-${pkgver}-1.${rpmarch}.rpm"

# Build beside the outputs and move into place, so a failed build never
# leaves a partial package under the final name.
tmp=$(mktemp -d "$OUT/.picket-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export PICKET_VERSION=$pkgver PICKET_ARCH=$ARCH PICKET_BIN=$BIN SOURCE_DATE_EPOCH
cd "$here"
for format in deb rpm; do
	# nfpm's chatter goes to stderr: stdout is the list of packages.
	"${nfpm[@]}" package --config nfpm.yaml --packager "$format" --target "$tmp/picket.$format" >&2 ||
		die "nfpm failed to build the $format (NFPM=$NFPM)"
done
mv "$tmp/picket.deb" "$deb"
mv "$tmp/picket.rpm" "$rpm"
echo "$deb"
echo "$rpm"
