#!/usr/bin/env bash
# Builds the Windows installer, picket-X.Y.Z-x64.msi, from picket.wxs with
# Debian's wixl, on Linux. `make package` runs it; so do the tests in
# internal/packagetest.
#
#   VERSION   version string (any); the MSI's ProductVersion is its leading
#             numeric x.y.z (a leading "v" is dropped, missing fields are 0,
#             no leading number at all gives 0.0.0): 1.2.3+4.gabc -> 1.2.3
#   BIN       picket.exe built for windows/amd64 (never modified)
#   OUT       output folder, created if missing
#   SIGN_CERT, SIGN_KEY      optional PEM certificate and key: Authenticode-
#             sign (SHA-256) a copy of picket.exe before packaging, then the
#             MSI. Both or neither.
#   SIGN_PASS_FILE           optional file holding the key's passphrase
#   SIGN_TIMESTAMP_URL       optional RFC 3161 time-stamping server (needs
#             the network; without it the signatures carry no timestamp)
#   SOURCE_DATE_EPOCH        optional; makes the build reproducible (below)
#
# Prints the path of the MSI it wrote: $OUT/picket-X.Y.Z-x64.msi.
#
# Reproducibility. wixl writes a random PackageCode and the current time into
# the summary information, and the cabinet carries picket.exe's mtime. With
# SOURCE_DATE_EPOCH set, this script gives picket.exe that mtime, sets both
# summary times to it and derives the PackageCode and the ProductCode from a
# hash of every input (this script, picket.wxs, picket.exe as shipped,
# VERSION, SOURCE_DATE_EPOCH, the wixl version), so two builds of the same
# inputs are byte-identical, unsigned or signed without a timestamp server
# (the signing time is then SOURCE_DATE_EPOCH too). Without it the times are
# the build's own.
#
# wixl cannot express everything the package needs; after building, msibuild
# (msitools) fixes the database in place:
#   - the PicketSetup custom action gets msidbCustomActionTypeHideTarget
#     (0x2000), so Windows Installer never logs its formatted command line,
#     which holds NSCA_PASSWORD and REGISTRATION_TOKEN (wixl ignores
#     HideTarget="yes");
#   - the OLDERFOUND upgrade row gets its real Attributes (wixl 0.101 drops
#     IncludeMaximum and MigrateFeatures);
#   - the first-contact properties join SecureCustomProperties (wixl ignores
#     Property Secure="yes");
#   - the summary information gets the derived PackageCode and times.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wxs="$here/picket.wxs"
prog=packaging/windows/build.sh

die() {
	echo "$prog: $*" >&2
	exit 1
}

need_tool() { # command, Debian package
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: install Debian's $2 package"
}

# Absolute path of $1, as seen from the caller's working directory.
abspath() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

[ -n "${VERSION:-}" ] || die "set VERSION (e.g. 1.2.3; the MSI takes its numeric x.y.z)"
[ -n "${BIN:-}" ] || die "set BIN to picket.exe built for windows/amd64"
[ -n "${OUT:-}" ] || die "set OUT to the output folder"
SIGN_CERT=${SIGN_CERT:-}
SIGN_KEY=${SIGN_KEY:-}
SIGN_PASS_FILE=${SIGN_PASS_FILE:-}
SIGN_TIMESTAMP_URL=${SIGN_TIMESTAMP_URL:-}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-}

[ -f "$BIN" ] || die "BIN=$BIN: no such file"
[ -f "$wxs" ] || die "$wxs: no such file"
if [ -n "$SIGN_CERT" ] || [ -n "$SIGN_KEY" ]; then
	[ -n "$SIGN_CERT" ] && [ -n "$SIGN_KEY" ] || die "set both SIGN_CERT and SIGN_KEY, or neither"
	[ -f "$SIGN_CERT" ] || die "SIGN_CERT=$SIGN_CERT: no such file"
	[ -f "$SIGN_KEY" ] || die "SIGN_KEY=$SIGN_KEY: no such file"
	if [ -n "$SIGN_PASS_FILE" ]; then
		[ -f "$SIGN_PASS_FILE" ] || die "SIGN_PASS_FILE=$SIGN_PASS_FILE: no such file"
	fi
	need_tool osslsigncode osslsigncode
	signing=1
else
	[ -z "$SIGN_PASS_FILE" ] || die "SIGN_PASS_FILE is set but SIGN_CERT and SIGN_KEY are not"
	signing=0
fi
if [ -n "$SOURCE_DATE_EPOCH" ]; then
	[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH: not a number of seconds"
fi
need_tool wixl wixl
need_tool msibuild msitools
need_tool msiinfo msitools
need_tool sha256sum coreutils

# ProductVersion: the leading numeric x.y.z of VERSION, within MSI's limits
# (major and minor 0..255, build 0..65535; anything larger would make
# upgrades compare wrongly).
numeric_version() {
	local v=${1#v} major=0 minor=0 build=0
	if [[ $v =~ ^([0-9]+)(\.([0-9]+))?(\.([0-9]+))? ]]; then
		major=$((10#${BASH_REMATCH[1]}))
		minor=$((10#${BASH_REMATCH[3]:-0}))
		build=$((10#${BASH_REMATCH[5]:-0}))
	else
		echo "$prog: VERSION=$1 does not start with a number; ProductVersion 0.0.0" >&2
	fi
	((major <= 255 && minor <= 255 && build <= 65535)) ||
		die "VERSION=$1: an MSI ProductVersion allows at most 255.255.65535"
	printf '%d.%d.%d\n' "$major" "$minor" "$build"
}
num=$(numeric_version "$VERSION")
msi_name="picket-$num-x64.msi"

bin_abs=$(abspath "$BIN")
cert_abs= key_abs= pass_abs=
if [ "$signing" = 1 ]; then
	cert_abs=$(abspath "$SIGN_CERT")
	key_abs=$(abspath "$SIGN_KEY")
	[ -z "$SIGN_PASS_FILE" ] || pass_abs=$(abspath "$SIGN_PASS_FILE")
fi
mkdir -p "$OUT" || die "cannot create OUT=$OUT"
out_abs=$(cd "$OUT" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/picket-msi.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/stage"
mkdir "$stage"

# sign FILE_IN FILE_OUT: Authenticode, SHA-256.
sign() {
	local args=(sign -certs "$cert_abs" -key "$key_abs" -h sha256
		-n picket -i https://github.com/picket-monitoring/picket)
	[ -z "$pass_abs" ] || args+=(-readpass "$pass_abs")
	if [ -n "$SIGN_TIMESTAMP_URL" ]; then
		args+=(-ts "$SIGN_TIMESTAMP_URL")
	elif [ -n "$SOURCE_DATE_EPOCH" ]; then
		args+=(-time "$SOURCE_DATE_EPOCH")
	fi
	osslsigncode "${args[@]}" -in "$1" -out "$2" </dev/null >"$work/sign.log" 2>&1 ||
		die "osslsigncode could not sign $(basename "$1"):
$(cat "$work/sign.log")"
}

# 1. picket.exe as shipped: a copy, signed when asked to.
if [ "$signing" = 1 ]; then
	sign "$bin_abs" "$stage/picket.exe"
else
	cp "$bin_abs" "$stage/picket.exe"
fi
chmod 0644 "$stage/picket.exe"
[ -z "$SOURCE_DATE_EPOCH" ] || touch -d "@$SOURCE_DATE_EPOCH" "$stage/picket.exe"

# 2. ProductCode and PackageCode from a hash of every input. A GUID from the
#    first 128 bits, with the RFC 4122 variant and a version-5 nibble.
inputs=$(
	{
		echo "VERSION=$VERSION"
		echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
		echo "wixl=$(wixl --version 2>&1)"
		sha256sum <"${BASH_SOURCE[0]}"
		sha256sum <"$wxs"
		sha256sum <"$stage/picket.exe"
	} | sha256sum | cut -c1-64
)
guid() { # label
	local h
	h=$(printf '%s %s\n' "$1" "$inputs" | sha256sum | cut -c1-32 | tr a-f A-F)
	local variant
	variant=$(printf '%X' $(((16#${h:16:1} & 3) | 8)))
	printf '{%s-%s-5%s-%s%s-%s}\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "$variant" "${h:17:3}" "${h:20:12}"
}
product_code=$(guid ProductCode)
package_code=$(guid PackageCode)

# 3. wixl, in the staging folder: wixl 0.101 finds sources relative to its
#    working directory only. Any warning means part of picket.wxs was
#    ignored, so it fails the build.
(
	cd "$stage"
	wixl --arch x64 \
		-D "Version=$num" \
		-D "FullVersion=$VERSION" \
		-D "ProductCode=$product_code" \
		-o "$work/picket.msi" "$wxs"
) >"$work/wixl.log" 2>&1 || die "wixl failed:
$(cat "$work/wixl.log")"
if [ -s "$work/wixl.log" ]; then
	die "wixl warned, so part of picket.wxs was ignored:
$(cat "$work/wixl.log")"
fi

# 4. What wixl cannot say (see the top of this file).
msi="$work/picket.msi"
q() { # msibuild SQL, failing loudly
	msibuild "$msi" -q "$1" >"$work/msibuild.log" 2>&1 || die "msibuild: $1:
$(cat "$work/msibuild.log")"
}
ca_type=$(msiinfo export "$msi" CustomAction | awk -F'\t' '$1 == "PicketSetup" { print $2 }')
[[ $ca_type =~ ^[0-9]+$ ]] || die "picket.wxs: no PicketSetup custom action"
q "UPDATE \`CustomAction\` SET \`Type\` = $((ca_type | 0x2000)) WHERE \`Action\` = 'PicketSetup'"

upgrade_code=$(msiinfo export "$msi" Property | awk -F'\t' '$1 == "UpgradeCode" { print $2 }' | tr -d '\r')
q "DELETE FROM \`Upgrade\` WHERE \`ActionProperty\` = 'OLDERFOUND'"
# 0x001 migrate feature states, 0x100 minimum inclusive, 0x200 maximum inclusive
q "INSERT INTO \`Upgrade\` (\`UpgradeCode\`, \`VersionMin\`, \`VersionMax\`, \`Attributes\`, \`ActionProperty\`) VALUES ('$upgrade_code', '0.0.0', '$num', $((0x001 | 0x100 | 0x200)), 'OLDERFOUND')"

secure=$(msiinfo export "$msi" Property | awk -F'\t' '$1 == "SecureCustomProperties" { print $2 }' | tr -d '\r')
for p in SERVER NSCA_PASSWORD NSCA_ENCRYPTION EXTERNALS_URL REGISTRATION_URL REGISTRATION_TOKEN HOSTNAME PROXY; do
	secure="${secure:+$secure;}$p"
done
q "UPDATE \`Property\` SET \`Value\` = '$secure' WHERE \`Property\` = 'SecureCustomProperties'"

# Summary information: export, replace the PackageCode (9) and, with
# SOURCE_DATE_EPOCH, the created (12) and last-saved (13) times, import.
# libmsi prints and parses these times in local time: pin it to UTC.
export TZ=UTC
msiinfo export "$msi" _SummaryInformation | tr -d '\r' >"$work/suminfo.txt"
stamp=
[ -z "$SOURCE_DATE_EPOCH" ] || stamp=$(date -u -d "@$SOURCE_DATE_EPOCH" '+%Y/%m/%d %H:%M:%S')
awk -F'\t' -v OFS='\t' -v uuid="$package_code" -v stamp="$stamp" '
	NR > 3 && $1 == 9 { $2 = uuid }
	NR > 3 && ($1 == 12 || $1 == 13) && stamp != "" { $2 = stamp }
	{ printf "%s\r\n", $0 }
' "$work/suminfo.txt" >"$work/_SummaryInformation.idt"
(cd "$work" && msibuild "$msi" -i _SummaryInformation.idt) >"$work/msibuild.log" 2>&1 ||
	die "msibuild: summary information:
$(cat "$work/msibuild.log")"

# 5. Sign the MSI, then put it in place.
if [ "$signing" = 1 ]; then
	sign "$msi" "$work/signed.msi"
	msi="$work/signed.msi"
fi
cp "$msi" "$out_abs/.$msi_name.tmp"
chmod 0644 "$out_abs/.$msi_name.tmp"
mv -f "$out_abs/.$msi_name.tmp" "$out_abs/$msi_name"
echo "${OUT%/}/$msi_name"
