#!/bin/sh
# PID 1 of a fresh pid/mount/uts/ipc/net/cgroup namespace (tests/e2e/systemd_ns.py starts it with unshare): walls
# the shared machine off, then becomes systemd. Every path systemd or its tmpfiles could write or clean (/tmp, /var,
# /run, /dev) gets a private tmpfs BEFORE systemd starts; the rest of the file system is read-only in here, so a
# stray write fails instead of touching the host. Anything failing stops the script before systemd runs (set -e).
#   systemd_boot.sh MASKS_FILE   (one unit or generator name a line, masked via /run)
set -eu
masks=$1
mount --make-rprivate /
# Keep what we need of the host before covering it: the mask list (may live in /tmp) and /dev's device nodes.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/fdtest/hostdev
cp "$masks" /run/fdtest/masks
mount --bind /dev /run/fdtest/hostdev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /var
mkdir -p /var/tmp /var/log/journal /var/lib /var/cache /var/spool
chmod 1777 /var/tmp
ln -s /run /var/run
ln -s /run/lock /var/lock
# /dev: a few nodes bound from the host, private shm/pts/mqueue (nothing systemd creates lands in the host's /dev).
mount -t tmpfs -o mode=0755 tmpfs /dev
for node in null zero full random urandom tty; do
    touch "/dev/$node"
    mount --bind "/run/fdtest/hostdev/$node" "/dev/$node"
done
touch /dev/console
mount --bind /dev/null /dev/console
umount -l /run/fdtest/hostdev
mkdir -m 1777 /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir /dev/pts && mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mkdir /dev/mqueue && mount -t mqueue mqueue /dev/mqueue
ln -s /proc/self/fd /dev/fd
# Kernel settings are shared with the host: read-only here. /sys too (no udev, no sysctl writes).
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys
mount --rbind /sys /sys && mount -o remount,bind,ro /sys
# cgroups: this namespace's root is the sub-cgroup the caller moved us into; only it is writable.
mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup
mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
mount -o remount,ro tmpfs /sys/fs/cgroup
# Masks first in the unit search path (/run/systemd/system.control beats /etc and /lib); generators masked by name.
mkdir -p /run/systemd/system.control /run/systemd/system /run/systemd/system-generators /run/systemd/journald.conf.d
while read -r name; do
    case "$name" in
        *-generator) ln -s /dev/null "/run/systemd/system-generators/$name" ;;
        ?*) ln -s /dev/null "/run/systemd/system.control/$name" ;;
    esac
done < /run/fdtest/masks
printf '[Journal]\nStorage=volatile\n' > /run/systemd/journald.conf.d/fdtest.conf
cat > /run/systemd/system/fdtest.target <<'EOF'
[Unit]
Description=facedaemon test boot (nothing of the host's own services)
Requires=sysinit.target
After=sysinit.target
AllowIsolate=yes
EOF
# The host's root (with /opt, /etc, /usr) read-only: bind-remount changes this mount only, never the host's.
mount -o remount,bind,ro /
exec /lib/systemd/systemd --system --unit=fdtest.target
