#!/bin/sh
# publish.sh BUILDDIR [N]: the time ferry-repod takes to publish a bundle
# that adds N targets (default 10,000) with their images, into a
# repository that already holds one publication, beside the time
# ferry-sign takes to make that bundle and `cp -r` of the same images (the
# floor of storing them at all).  Figures only; nothing here fails for
# being slow.
set -eu
builddir=$1
n=${2:-${BENCH_PUBLISH_TARGETS:-10000}}
sign=$builddir/ferry-sign repod=$builddir/ferry-repod
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-publish.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
printf 'bench passphrase\n' >pw
chmod 600 pw
mkdir keys images
for k in root targets snapshot timestamp; do
	"$sign" key generate --kdf interactive --passphrase-fd 3 "keys/$k.key" \
	    3<pw >/dev/null 2>&1
done
"$sign" init -C ws --key root=keys/root.pub --key targets=keys/targets.pub \
    --key snapshot=keys/snapshot.pub --key timestamp=keys/timestamp.pub \
    >/dev/null
bundle() { # bundle OUT: request, sign, merge, bundle
	"$sign" request -C ws -o req.json >/dev/null 2>&1
	rm -f ./*.sig
	for k in root targets; do
		"$sign" sign --key "keys/$k.key" --passphrase-fd 3 -o "$k.sig" \
		    req.json 3<pw >/dev/null 2>&1 || true
	done
	"$sign" merge -C ws ./*.sig >/dev/null
	"$sign" bundle -C ws "$1" >/dev/null
}
printf 'first\n' >images/first.txt
(cd images && "$sign" targets add -C ../ws first.txt >/dev/null)
bundle b1.tar.zst
"$repod" init -d st --root ws/metadata/1.root.json \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key \
    >/dev/null
"$repod" publish -d st --images images --credentials pw b1.tar.zst \
    >/dev/null 2>&1
# N images of 1-4 KiB, listed for `targets add --list`.
mkdir -p images/pkgs
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) print i }' | while read -r i; do
	head -c $((1024 + (i % 4) * 1024)) /dev/urandom >"images/pkgs/p$i.img"
done
(cd images && for f in pkgs/*.img; do
	printf '{"path":"%s","length":%s,"hashes":{"sha256":"%s"}}\n' "$f" \
	    "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
done) >list
t0=$(now)
"$sign" targets add -C ws --list list >/dev/null
bundle b2.tar.zst
t1=$(now)
"$repod" publish -d st --images images --credentials pw b2.tar.zst \
    >/dev/null 2>&1
t2=$(now)
cp -r images/pkgs copy
sync
t3=$(now)
echo "publish a bundle adding $n targets ($(du -sh images/pkgs | cut -f1) of images):"
printf '  %-34s %8s s\n' "ferry-sign targets add + bundle" "$(secs "$t0" "$t1")"
printf '  %-34s %8s s\n' "ferry-repod publish (all checks)" "$(secs "$t1" "$t2")"
printf '  %-34s %8s s\n' "cp -r of the images + sync" "$(secs "$t2" "$t3")"
