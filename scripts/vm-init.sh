#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test VM. Runs the entries of /etc/vm-tests, one a line:
#   NAME TIMEOUT_SECONDS COMMAND [ARGS...]
# framing each program's output with markers the host parses:
#   @@@ BEGIN NAME / @@@ END NAME rc=N, then @@@ DONE, and powers off.
# With shadow.shell on the command line (or no list), it starts a shell.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/tests
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
mkdir -p /dev/hugepages
mount -t hugetlbfs none /dev/hugepages 2>/dev/null
echo 64 > /proc/sys/vm/nr_hugepages 2>/dev/null
cd /tmp

if grep -q shadow.shell /proc/cmdline || [ ! -s /etc/vm-tests ]; then
	echo "shadow test VM: programs in /tests; 'poweroff -f' to leave"
	setsid cttyhack sh
	poweroff -f
fi

echo "@@@ START"
while read -r name tmo cmd; do
	case "$name" in ''|'#'*) continue ;; esac
	echo "@@@ BEGIN $name"
	# shellcheck disable=SC2086
	timeout "$tmo" $cmd </dev/null 2>&1
	rc=$?
	echo "@@@ END $name rc=$rc"
done < /etc/vm-tests
echo "@@@ DONE"
poweroff -f
