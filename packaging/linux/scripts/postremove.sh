#!/bin/sh
# picket package: runs after the files are removed (deb postrm, rpm %postun).
#
# deb remove: the config in /etc/picket and the spool in /var/lib/picket are
# kept, so results not yet sent survive a remove and reinstall.
# deb purge: both go, with everything the admin put there (secrets,
# plugins.d) and the log folder. The picket user and group stay, as is
# usual on Debian: files they owned may still exist, and a new account
# reusing the ids would own them.
# rpm erase ($1 = 0): rpm removes what it installed and keeps an edited
# config as picket.toml.rpmsave; the spool is left, as rpm has no purge.
# Upgrades (deb upgrade, rpm $1 >= 1) do nothing here. Idempotent.
set -e

case "$1" in
purge)
	rm -rf /etc/picket /var/lib/picket /var/log/picket
	;;
remove | 0) ;;
*)
	exit 0
	;;
esac

if [ -d /run/systemd/system ]; then
	# The unit file is gone: let systemd forget it.
	systemctl daemon-reload || true
fi
exit 0
