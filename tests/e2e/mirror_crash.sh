#!/bin/sh
# ferry-mirror sync killed with SIGKILL at random instants: after every
# kill the mirror serves a whole state (the old one, or the new one),
# never a mixture, and a new device refreshes from it and lists exactly
# the targets of one published state; the next sync just works, and
# nothing half-made stays behind.  The origin is ferry-repod's tree,
# served read-only by `ferry-repod serve --mirror` on 127.0.0.1, with a
# new bundle published every few kills.
set -u
name=mirror_crash
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client mirror
KILLS=${FERRY_CRASH_KILLS:-30}
NB=5

setup spid

echo "== $NB bundles of 12 images each"
printf 'crash test passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp
workspace
n=1
while [ $n -le $NB ]; do
	: >list
	i=0
	while [ $i -lt 12 ]; do
		head -c $((40000 + i * 9000)) /dev/urandom \
		    >"content/apps/b$n-$i.img"
		f=apps/b$n-$i.img
		printf '{"path":"%s","length":%s,"hashes":{"sha256":"%s"}}\n' \
		    "$f" "$(wc -c <"content/$f" | tr -d ' ')" \
		    "$(sha256sum "content/$f" | cut -d' ' -f1)" >>list
		i=$((i + 1))
	done
	run "$sign" targets add -C "$ws" --list list
	keys=targets
	[ $n = 1 ] && keys="root targets"
	bundle $n $keys
	n=$((n + 1))
done
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
pub() {
	run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
	    "b$1.tar.zst" 3<pw
}
pub 1
chmod -R a+rX "$tmp" || fail "chmod"
serve --mirror "$st/repo"
run "$mirror" init -d m --root "$ws/metadata/1.root.json" --upstream "$url"

# check M WHY: whatever mirror M serves is whole.  A new device refreshes
# from it and lists the targets of one published state (12 per bundle),
# and the last of them downloads.
check() {
	[ -e "$1/repo/metadata" ] || { ok; return; }	# nothing synced yet
	rm -rf dev
	"$client" -d dev init --root "$ws/metadata/1.root.json" \
	    --mirror "$tmp/$1/repo/metadata" >cout 2>&1 &&
	    "$client" -d dev refresh >>cout 2>&1 &&
	    "$client" -d dev list >list.out 2>>cout ||
		{ cat cout >&2; fail "$2: the client cannot refresh"; }
	nt=$(wc -l <list.out | tr -d ' ')
	[ $((nt % 12)) = 0 ] && [ "$nt" -ge 12 ] ||
		fail "$2: the mirror serves $nt targets"
	t=$(awk '{ print $3 }' list.out | sort | tail -n 1)
	"$client" -d dev download "$t" >>cout 2>&1 ||
		{ cat cout >&2; fail "$2: cannot download $t"; }
	ok
}

echo "== the crash loop: $KILLS kills"
# Milliseconds from /dev/urandom, 0 to $1 - 1.
rnd_ms() { echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 )); }
# How long a whole first sync takes here, to aim the kills inside it.
rm -rf m0
run "$mirror" init -d m0 --root "$ws/metadata/1.root.json" --upstream "$url"
t0=$(date +%s%N)
run "$mirror" sync -d m0 --quiet
span=$(( ($(date +%s%N) - t0) / 1000000 + 20 ))
echo "a first sync takes about $span ms"
rm -rf m0
next=2 k=0 killed=0
while [ $k -lt "$KILLS" ]; do
	k=$((k + 1))
	# Every 3rd kill a new bundle upstream; between them, to have work
	# each time, every other sync starts from a mirror's first one.
	if [ $((k % 3)) = 0 ] && [ $next -le $NB ]; then
		pub $next
		next=$((next + 1))
	fi
	m=m
	if [ $((k % 2)) = 1 ]; then
		m=f
		rm -rf f
		run "$mirror" init -d f --root "$ws/metadata/1.root.json" \
		    --upstream "$url"
	fi
	"$mirror" sync -d $m --quiet >/dev/null 2>&1 &
	pid=$!
	ms=$(rnd_ms "$span")
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	check $m "kill $k ($m) after $ms ms"
	# The next sync of it just works.
	run "$mirror" sync -d $m --quiet
	check $m "sync after kill $k ($m)"
done
echo "$killed of $KILLS syncs were killed mid-way"
[ "$killed" -gt 0 ] || fail "no sync was killed mid-way: the loop tested nothing"

echo "== after the crashes"
while [ $next -le $NB ]; do
	pub $next
	next=$((next + 1))
done
run "$mirror" sync -d m
run "$mirror" sync -d m
grep -q '^up to date' out || fail "a sync after that: $(cat out)"
ok
check m "after the last sync"
[ "$nt" = $((NB * 12)) ] || fail "$nt targets served, not $((NB * 12))"
ok
left=$(find m f -name '*.tmp*' | wc -l | tr -d ' ')
[ "$left" = 0 ] || fail "temporaries left: $(find m f -name '*.tmp*')"
ok
nstates=$(ls m/repo/.states | wc -l | tr -d ' ')
[ "$nstates" -le 4 ] || fail "$nstates states kept; retain_states is 4"
ok
echo "$name: $checks checks passed"
