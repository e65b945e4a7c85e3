#!/bin/sh
# Build the local `busybox` image's root filesystem from Debian's busybox-static, as a tar.
#
#   sh scripts/make-busybox-rootfs.sh OUT.tar
#   sangja import -c 'CMD ["sh"]' OUT.tar busybox        # or: docker import ...
#
# The tree: bin/busybox plus a symlink in bin/ for every applet, a minimal etc/passwd and
# etc/group (root, nobody), and empty tmp, proc, sys, dev, root and var/www (with an
# index.html for the web-server demo). No network is used. The tar is reproducible: names
# sorted, owner root, mtime 0, so the same busybox gives the same layer digest.
# BUSYBOX=/path overrides the static busybox binary to copy.
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUT.tar" >&2
    exit 2
fi
out=$1
bb=${BUSYBOX:-/bin/busybox}
if [ ! -x "$bb" ]; then
    echo "$0: $bb not found: install busybox-static (apt-get install busybox-static)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/rootfs

mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" \
    "$root/root" "$root/var/www"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$bb" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$bb" --list); do
    [ "$applet" = busybox ] && continue
    ln -s busybox "$root/bin/$applet"
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
GROUP
echo '<html><body><h1>hello from a sangja container</h1></body></html>' > "$root/var/www/index.html"

# Write next to the target and rename, so a reader never sees half a tar.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$out.tmp.$$" .
mv "$out.tmp.$$" "$out"
