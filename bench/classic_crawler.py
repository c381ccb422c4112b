#!/usr/bin/python3
"""The classic design of a feed crawler in Python, the first reference point of feedcrawl's
performance issue: 50 fetch threads, a bounded queue, feedparser in the main thread, SQLite.

scripts/bench --classic runs it over the feeds it serves, on the same machine as the crawl, so that
feedcrawl is compared with that design where both ran rather than with a figure from elsewhere.
Fetch threads take URLs from a list and put each body (or its error) on a queue of at most
--queue entries; the main thread parses each with feedparser and inserts its items into SQLite,
one transaction per feed, each item once by (feed, key). Prints one JSON line:
  {"feeds":10000,"ok":10000,"failed":0,"items":200000,"seconds":181.2,"feeds_per_s":55.2,
   "items_per_s":1103.8,"cpu_s":170.3,"peak_rss_mb":61.2}
cpu_s and peak_rss_mb are this process's (all its threads). Needs Debian's python3-feedparser.
"""

import argparse
import json
import queue
import resource
import sqlite3
import sys
import threading
import time
import urllib.request

import feedparser


def fetcher(urls, next_url, lock, bodies, timeout):
    """Fetches URLs until none is left, then puts None on the queue."""
    while True:
        with lock:
            if next_url[0] >= len(urls):
                break
            url = urls[next_url[0]]
            next_url[0] += 1
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                bodies.put((url, response.read(), None))
        except Exception as error:  # every failure is the feed's, reported, never fatal
            bodies.put((url, None, str(error)))
    bodies.put(None)


def item_rows(url, entries):
    rows = []
    for entry in entries:
        key = entry.get("id") or entry.get("link") or (
            (entry.get("title") or "") + "|" + (entry.get("published") or entry.get("updated") or ""))
        if entry.get("content"):
            content = entry["content"][0].get("value", "")
        else:
            content = entry.get("summary", "")
        rows.append((url, key, entry.get("title"), entry.get("link"),
                     entry.get("published") or entry.get("updated"), entry.get("author"),
                     content))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", required=True, help="file of feed URLs, one per line")
    parser.add_argument("--db", required=True, help="SQLite database to create")
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--queue", type=int, default=100, help="bodies waiting, at most")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    with open(args.urls, encoding="utf-8") as lines:
        urls = [line.strip() for line in lines if line.strip()]
    db = sqlite3.connect(args.db)
    db.execute("CREATE TABLE items (feed TEXT NOT NULL, key TEXT NOT NULL, title TEXT, link TEXT,"
               " published TEXT, author TEXT, content TEXT, PRIMARY KEY (feed, key))")
    db.commit()

    start = time.monotonic()
    bodies = queue.Queue(maxsize=args.queue)
    next_url = [0]
    lock = threading.Lock()
    threads = [threading.Thread(target=fetcher, args=(urls, next_url, lock, bodies, args.timeout),
                                daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    finished = ok = failed = 0
    while finished < len(threads):
        got = bodies.get()
        if got is None:
            finished += 1
            continue
        url, body, error = got
        if body is None:
            failed += 1
            print(f"classic: {url}: {error}", file=sys.stderr)
            continue
        parsed = feedparser.parse(body)
        with db:
            db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, ?)",
                           item_rows(url, parsed.entries))
        ok += 1
    seconds = time.monotonic() - start
    items = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    db.close()

    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "feeds": len(urls), "ok": ok, "failed": failed, "items": items,
        "seconds": round(seconds, 3),
        "feeds_per_s": round(len(urls) / seconds, 1) if seconds > 0 else 0,
        "items_per_s": round(items / seconds, 1) if seconds > 0 else 0,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }, separators=(",", ":")))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
