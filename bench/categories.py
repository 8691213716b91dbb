"""Splits a folded CPU profile (bench/fold.sh) into where the time goes, in microseconds per request.
Usage: python3 bench/categories.py <name>.folded <CPU microseconds per request>
A stack counts in the first category whose pattern it matches (the order below), else in "the rest"."""
import collections, re, sys

CATEGORIES = [
    ("group commit and SQLite", r"RedemptionBatcher|sqlite3|libe_sqlite|SqliteStatement|StatementPipeline|pwrite|pcache1"),
    ("sending", r"sendmsg|SysSend|DoSend|SocketSender"),
    ("receiving", r"recvmsg|__libc_recv|DoReceive|SysReceive"),
    ("epoll", r"epoll_wait|SocketAsyncEngine"),
    ("reading the file", r"pread|RandomAccess"),
    ("looking at / opening the file", r"statx|Statx|openat|__close|readlink|FileIdentity|do_sys_open|__xstat|fstat|newfstatat|flock|fcntl"),
    ("idle pool threads", r"LowLevelLifoSemaphore|sched_yield|WaitForSignal"),
    ("parsing the request", r"ParseRequest|TakeStartLine|ParseHeaders"),
    ("response headers", r"WriteResponseHeaders"),
    ("page faults", r"exc_page_fault"),
]

folded, per_request = sys.argv[1], float(sys.argv[2])
counts, total = collections.Counter(), 0
for line in open(folded):
    stack, n = line.rstrip().rsplit(" ", 1)
    n = int(n)
    total += n
    counts[next((name for name, pattern in CATEGORIES if re.search(pattern, stack)), "the rest")] += n
for name in [c for c, _ in CATEGORIES] + ["the rest"]:
    print(f"  {name:32s} {100 * counts[name] / total:5.1f} % {per_request * counts[name] / total:6.1f} us")
