#!/usr/bin/env bash
# The man pages in packaging/man: each renders without a warning (man
# --warnings, as lintian runs it, and groff -ww), has the sections a page
# needs and the version of CMakeLists.txt in .TH; every binary has a page;
# and every long option, every -o mount option and every subcommand a
# binary's --help prints appears in the rendered text of its page. Then the
# check itself is checked: a page with an option taken out must fail it.
# Mounts nothing (no root needed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
ROOT=$(cd "$here/../.." && pwd)
MAN_DIR=$ROOT/packaging/man
B=$TRACKFS_BIN_DIR
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
command -v man >/dev/null || fail "man (man-db) is not installed"
command -v groff >/dev/null || fail "groff is not installed"
command -v col >/dev/null || fail "col (bsdextrautils) is not installed"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The binaries and their pages (a binary's page is named for it).
declare -A PAGE=(
	[fs/fuse/trackfs]=trackfs.8
	[fs/s3/trackfs-s3]=trackfs-s3.8
	[tools/mkfs.trackfs]=mkfs.trackfs.8
	[tools/fsck.trackfs]=fsck.trackfs.8
	[tools/trackfs-status]=trackfs-status.8
	[tools/trackfs-disk]=trackfs-disk.8
	[tools/trackfs-meta]=trackfs-meta.8
	[tools/trackfs-scrub]=trackfs-scrub.8
	[tools/trackfs-control]=trackfs-control.8
	[tools/trackfs-debug]=trackfs-debug.8
	[tools/trackfs-bench-engine]=trackfs-bench-engine.1
	[tools/trackfs-bench-meta]=trackfs-bench-meta.1
)
# Subcommands with a help of their own, whose options belong to the same page.
declare -A SUBHELP=(
	[tools/trackfs-meta]="snapshot list mirror restore"
)
VERSION=$(sed -nE 's/^project\(trackfs VERSION ([0-9.]+).*/\1/p' "$ROOT/CMakeLists.txt")
[ -n "$VERSION" ] || fail "no project(trackfs VERSION ...) in CMakeLists.txt"

step "every page renders without warnings, with its sections and version"
pages=("$MAN_DIR"/*.[1-8])
[ -e "${pages[0]}" ] || fail "no pages in $MAN_DIR"
for p in "${pages[@]}"; do
	name=$(basename "$p")
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$p" 2>&1 >/dev/null) || fail "man -l $p failed: $out"
	[ -z "$out" ] || fail "$name: man --warnings printed:"$'\n'"$out"
	out=$(groff -man -ww -z "$p" 2>&1) || fail "groff -man $p failed: $out"
	[ -z "$out" ] || fail "$name: groff -man -ww printed:"$'\n'"$out"
	# .TH NAME SECTION DATE "trackfs VERSION" ...: the section of the file
	# name, the version of the build.
	th=$(grep -m1 '^\.TH ' "$p") || fail "$name has no .TH line"
	check_eq "$(echo "$th" | awk '{print $3}')" "${p##*.}" "$name: section in .TH"
	case $th in
	*"\"trackfs $VERSION\""*) ;;
	*) fail "$name: .TH does not say \"trackfs $VERSION\": $th" ;;
	esac
	if [ "${p##*.}" = 5 ]; then
		want=(NAME DESCRIPTION EXAMPLES "SEE ALSO")
	else
		want=(NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO")
	fi
	# The NAME line as mandb (and lintian's whatis check) reads it: the
	# page's own name first.
	if command -v lexgrog >/dev/null; then
		whatis=$(lexgrog "$p" 2>&1) || fail "$name: lexgrog cannot parse its NAME: $whatis"
		case $whatis in
		*": \"${name%.*} - "*) ;;
		*) fail "$name: NAME does not start with ${name%.*}: $whatis" ;;
		esac
	fi
	for sec in "${want[@]}"; do
		grep -qxE "\.SH \"?$sec\"?" "$p" || fail "$name has no section $sec"
	done
done
echo "   ${#pages[@]} pages"

step "every binary has a page"
for bin in "${!PAGE[@]}"; do
	[ -x "$B/$bin" ] || fail "$B/$bin is not built"
	[ -f "$MAN_DIR/${PAGE[$bin]}" ] || fail "$bin has no page ${PAGE[$bin]} in packaging/man"
done

# rendered PAGE: the page as text, hyphenated words joined back together,
# so that an option broken at the end of a line is still found.
rendered() {
	LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$1" 2>/dev/null | col -b |
		"$PY" -c '
import re, sys
t = sys.stdin.read().replace("\u2010", "-").replace("\u2212", "-")
# "direc-\n       tory" (a hyphenation) -> "directory"
t = re.sub(r"(?<=[a-z])-\n\s+(?=[a-z])", "", t)
sys.stdout.write(t)'
}

# check_page BIN PAGEFILE: print one line for each option or subcommand of
# BIN's --help that the page does not mention; print "checked N".
check_page() {
	local bin=$1 file=$2 help="$TMP/help" text="$TMP/text" n=0 o prog
	"$B/$bin" --help >"$help" 2>&1 || fail "$bin --help exit $?"
	for sub in ${SUBHELP[$bin]:-}; do
		"$B/$bin" "$sub" --help >>"$help" 2>&1 || fail "$bin $sub --help exit $?"
	done
	rendered "$file" >"$text"
	[ -s "$text" ] || fail "$(basename "$file") renders empty"
	# Long options: --word.
	for o in $(grep -oE -- '(^|[^A-Za-z0-9-])--[a-z][a-z0-9-]*' "$help" | sed 's/^[^-]*//' | sort -u); do
		n=$((n + 1))
		grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" "$text" || echo "$o"
	done
	# -o options as the help lists them: "-o name=VALUE" must appear as
	# "name=", "-o flag" as the word.
	for o in $(grep -oE -- '(^|[^A-Za-z0-9-])-o [a-z_][a-z0-9_]*=?' "$help" | sed 's/.*-o //' | sort -u); do
		n=$((n + 1))
		case $o in
		*=) grep -qE -- "(^|[^A-Za-z0-9_])$o" "$text" || echo "-o $o" ;;
		*) grep -qE -- "(^|[^A-Za-z0-9_])$o([^A-Za-z0-9_]|\$)" "$text" || echo "-o $o" ;;
		esac
	done
	# Subcommands: the words after "trackfs NAME " or "trackfs-NAME " in the
	# help's usage lines (trackfs disk list, trackfs-s3 reload ...).
	prog=$(basename "$bin")
	prog=${prog#trackfs-}
	# For the tools, also the commands their help lists as "  word  what
	# it does" or "  word VOLUME ..." (trackfs-debug put, trackfs disk add).
	{
		grep -oE -- "trackfs[ -]$prog [a-z][a-z0-9-]*" "$help" | awk '{print $NF}' || true
		case $bin in
		tools/*) grep -oE -- '^  [a-z][a-z0-9-]*(  | [A-Z])' "$help" | awk '{print $1}' || true ;;
		esac
	} | sort -u >"$TMP/subs"
	for o in $(cat "$TMP/subs"); do
		n=$((n + 1))
		grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" "$text" || echo "subcommand $o"
	done
	echo "checked $n"
}

step "every option of every --help is in its page"
missing=0
for bin in "${!PAGE[@]}"; do
	page=${PAGE[$bin]}
	check_page "$bin" "$MAN_DIR/$page" >"$TMP/out"
	while read -r line; do
		case $line in
		"checked "*) echo "   $page: ${line#checked } options and subcommands" ;;
		*)
			echo "FAIL: $page does not document $line (from $bin --help)" >&2
			missing=$((missing + 1))
			;;
		esac
	done <"$TMP/out"
done
[ "$missing" -eq 0 ] || fail "$missing options are missing from their pages"

step "the check finds an option taken out of a page"
# trackfs-s3.8 without --port-file, trackfs.8 without scrub_every=: each
# must be reported.
sed -e 's/\\-\\-port\\-file/\\-\\-gone/g' "$MAN_DIR/trackfs-s3.8" >"$TMP/cut.8"
check_page fs/s3/trackfs-s3 "$TMP/cut.8" >"$TMP/out"
grep -qx -- '--port-file' "$TMP/out" ||
	fail "trackfs-s3.8 without --port-file passed the check"
sed -e 's/scrub_every=/gone=/g' "$MAN_DIR/trackfs.8" >"$TMP/cut.8"
check_page fs/fuse/trackfs "$TMP/cut.8" >"$TMP/out"
grep -qx -- '-o scrub_every=' "$TMP/out" ||
	fail "trackfs.8 without scrub_every= passed the check"
echo "PASS"
