#!/bin/sh
# picket package: runs before the files are unpacked (deb preinst, rpm %pre),
# on every install and upgrade. It creates the system group and user the
# agent runs as, so that files the package gives to them (/etc/picket,
# /var/lib/picket) get the right owner as they are unpacked. The arguments
# (deb: install, upgrade; rpm: a count) make no difference. Idempotent.
set -e

if ! getent group picket >/dev/null; then
	groupadd --system picket
fi
if ! getent passwd picket >/dev/null; then
	# No login: the account only runs the agent and its plugins.
	shell=/usr/sbin/nologin
	[ -x "$shell" ] || shell=/sbin/nologin
	[ -x "$shell" ] || shell=/bin/false
	useradd --system --gid picket --home-dir /var/lib/picket --no-create-home \
		--shell "$shell" --comment "picket monitoring agent" picket
fi
exit 0
