# Sourced by the profiling scripts (bench/profile.sh, bench/crypt-profile.sh): fold <perf data without .data> folds
# `perf script` into stacks (root first, kept in <name>.folded for a flame graph) and prints the top self and
# inclusive frames.
fold() { # perf data → folded stacks (root first), then the top self and inclusive frames
  perf script -i "$1.data" 2>/dev/null | python3 -c '
import sys, collections, re
stacks = collections.Counter(); frames = []
def flush():
    if frames: stacks[";".join(reversed(frames))] += 1
    frames.clear()
for line in sys.stdin:
    line = line.rstrip()
    if not line: flush(); continue
    if line[0] not in " \t": flush(); continue
    parts = line.strip().split(" ", 1)
    name = parts[1] if len(parts) > 1 else "?"
    name = re.sub(r"\s*\(.*\)$", "", name).replace(";", ":")
    name = re.sub(r"\[[^\]]*\]$", "", name).strip() or "?"
    frames.append(name[:160])
flush()
with open(sys.argv[1], "w") as f:
    for k, v in stacks.most_common(): f.write(f"{k} {v}\n")
total = sum(stacks.values()); self_ = collections.Counter(); incl = collections.Counter()
for k, v in stacks.items():
    fs = k.split(";"); self_[fs[-1]] += v
    for fr in set(fs): incl[fr] += v
print(f"{total} samples")
print("-- top self"); [print(f"{100*v/total:5.1f}% {k}") for k, v in self_.most_common(25)]
print("-- top inclusive"); [print(f"{100*v/total:5.1f}% {k}") for k, v in incl.most_common(60)]
' "$1.folded"
}
