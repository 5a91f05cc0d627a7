#!/bin/sh
# picket package: runs after the files are in place (deb postinst, rpm %post).
# It sets the owners and modes the agent relies on, then, only where systemd
# is the running init, enables and starts the service on a first install or
# restarts it, if it runs, on an upgrade. Without systemd (a container, a
# chroot, another init) it does nothing more and succeeds. Idempotent.
set -e

first=""
case "$1" in
configure)
	# deb: $2 is the version configured before, empty on a first install.
	[ -n "${2:-}" ] || first=1
	;;
abort-upgrade | abort-remove | abort-deconfigure)
	# deb: a failed upgrade or removal is being rolled back; the service
	# was left as it was.
	exit 0
	;;
[0-9]*)
	# rpm: $1 is the number of picket packages installed once this
	# transaction is done: 1 on a first install, 2 on an upgrade.
	[ "$1" -gt 1 ] || first=1
	;;
*)
	echo "picket postinst: unknown argument '$1', doing nothing" >&2
	exit 0
	;;
esac

# The config folder is readable by the agent's group only (it holds the NSCA
# password and the registration token); the state folder (the spool) is the
# agent's own. A conffile keeps the owner and mode the admin gave it, so the
# shipped config is only set on a first install.
chown root:picket /etc/picket
chmod 0750 /etc/picket
chown picket:picket /var/lib/picket
chmod 0750 /var/lib/picket
if [ -n "$first" ] && [ -f /etc/picket/picket.toml ]; then
	chown root:picket /etc/picket/picket.toml
	chmod 0640 /etc/picket/picket.toml
fi

[ -d /run/systemd/system ] || exit 0

systemctl daemon-reload || true
# The deb's prerm leaves this behind when it disables an enabled service on
# removal, so installing the package again enables it again (its config
# was kept, so $2 is not empty then).
reenable=/var/lib/picket/.enable-on-install
if [ -n "$first" ] || [ -e "$reenable" ]; then
	rm -f "$reenable"
	systemctl enable picket.service || true
	# A service that fails to start must not leave the package broken:
	# the admin fixes the config and starts it.
	systemctl start picket.service ||
		echo "picket: the service did not start; see: journalctl -u picket" >&2
else
	# Only if it runs: a service the admin stopped or disabled stays so.
	systemctl try-restart picket.service ||
		echo "picket: the service did not restart; see: journalctl -u picket" >&2
fi
exit 0
