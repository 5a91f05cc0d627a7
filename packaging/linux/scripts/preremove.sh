#!/bin/sh
# picket package: runs before the files are removed (deb prerm, rpm %preun).
# On a removal, not an upgrade, it stops and disables the service where
# systemd is the running init. An upgrade leaves it running: the new
# package's postinst restarts it on the new binary. Idempotent.
set -e

case "$1" in
remove | 0)
	# deb: remove; rpm: $1 is the number of picket packages left, 0 on
	# removal.
	;;
*)
	# deb: upgrade, failed-upgrade, deconfigure; rpm: 1 on an upgrade.
	exit 0
	;;
esac

[ -d /run/systemd/system ] || exit 0

if [ "$1" = remove ] && systemctl is-enabled --quiet picket.service 2>/dev/null; then
	# deb keeps the config after a remove; remember that the service was
	# enabled, so installing the package again enables it again. A purge
	# removes this with /var/lib/picket.
	touch /var/lib/picket/.enable-on-install 2>/dev/null || true
fi
systemctl stop picket.service || true
systemctl disable picket.service || true
exit 0
