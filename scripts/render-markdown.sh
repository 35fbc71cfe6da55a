#!/bin/sh
# render-markdown.sh PLAN.md OUT.png: renders a Markdown plan (plan -o
# markdown, show-plan -o markdown) roughly as GitHub shows a comment, with
# marked (npm install -g marked) and headless Chromium, and screenshots it,
# so that a person can look at tables, lists and long paths. Not part of CI.
set -eu
md=${1:?usage: render-markdown.sh PLAN.md OUT.png}
png=${2:?usage: render-markdown.sh PLAN.md OUT.png}
for tool in marked chromium; do
	command -v "$tool" >/dev/null || { echo "render-markdown.sh: $tool is not installed" >&2; exit 3; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	cat <<'HTML'
<!doctype html><meta charset="utf-8"><style>
body{font:14px -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:880px;margin:24px auto;color:#1f2328;line-height:1.5}
code{font:12px ui-monospace,monospace;background:#eff1f3;padding:.2em .4em;border-radius:6px}
table{border-collapse:collapse}td,th{border:1px solid #d1d9e0;padding:6px 13px}
blockquote{border-left:.25em solid #9a6700;margin:0;padding:0 1em;color:#59636e}
</style>
HTML
	# details open, so the screenshot shows the changes.
	marked --gfm < "$md" | sed 's/<details>/<details open>/'
} > "$tmp/plan.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--screenshot="$png" --window-size=1200,1600 "file://$tmp/plan.html" 2>/dev/null
echo "rendered $md to $png"
