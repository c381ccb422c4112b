'use strict';
// The Node.js design of a feed crawler, the second reference point of feedcrawl's performance
// issue: fetch, rss-parser, 50 feeds at once, better-sqlite3.
//
// scripts/bench --node installs its two packages (package-lock.json) and runs it over the feeds it
// serves, on the same machine as the crawl. Fifty async workers take URLs from a list in turn;
// each fetches a body with the runtime's fetch, parses it with rss-parser and inserts its items
// into SQLite, one transaction per feed, each item once by (feed, key), on the one JavaScript
// thread. Prints one JSON line, with the same fields as bench/classic_crawler.py:
//   {"feeds":10000,"ok":10000,"failed":0,"items":200000,"seconds":33.3,"feeds_per_s":300.3,
//    "items_per_s":6006.0,"cpu_s":40.1,"peak_rss_mb":160.2}
// cpu_s and peak_rss_mb are this process's (all its threads). Exit status 1 if a feed failed.
//
// Usage: node crawler.js --urls FILE --db FILE [--concurrency 50] [--timeout SECONDS]

const fs = require('fs');
const Database = require('better-sqlite3');
const Parser = require('rss-parser');

// A wrong command line: reported by its message alone, with exit status 2.
class UsageError extends Error {}

function parseArgs(argv) {
  const args = { urls: null, db: null, concurrency: 50, timeout: 30 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    const value = argv[i + 1];
    if (!(name in args) || value === undefined) {
      throw new UsageError(`unknown option or missing value: ${argv[i]}`);
    }
    args[name] = name === 'urls' || name === 'db' ? value : Number(value);
  }
  if (!args.urls || !args.db) throw new UsageError('--urls FILE and --db FILE are required');
  if (!(args.concurrency >= 1) || !(args.timeout > 0)) {
    throw new UsageError('--concurrency and --timeout take positive numbers');
  }
  return args;
}

function text(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object') return value._ !== undefined ? String(value._) : null;
  return String(value);
}

// The item's key as the classic design takes it: its id, else its link, else title and date.
function itemRow(url, item) {
  const published = text(item.pubDate) || text(item.isoDate);
  const key = text(item.guid) || text(item.id) || text(item.link) ||
    `${text(item.title) || ''}|${published || ''}`;
  return [url, key, text(item.title), text(item.link), published,
    text(item.creator) || text(item.author), text(item.content) || text(item.summary)];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const urls = fs.readFileSync(args.urls, 'utf8').split('\n').map((s) => s.trim())
    .filter((s) => s.length > 0);
  const db = new Database(args.db);
  db.exec('CREATE TABLE items (feed TEXT NOT NULL, key TEXT NOT NULL, title TEXT, link TEXT,' +
    ' published TEXT, author TEXT, content TEXT, PRIMARY KEY (feed, key))');
  const insert = db.prepare('INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, ?)');
  const storeFeed = db.transaction((url, items) => {
    for (const item of items) insert.run(itemRow(url, item));
  });
  const parser = new Parser();

  const start = process.hrtime.bigint();
  let next = 0;
  let ok = 0;
  let failed = 0;
  async function worker() {
    while (next < urls.length) {
      const url = urls[next++];
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(args.timeout * 1000) });
        const body = await response.text();
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const feed = await parser.parseString(body);
        storeFeed(url, feed.items || []);
        ok++;
      } catch (error) { // every failure is the feed's, reported, never fatal
        failed++;
        process.stderr.write(`node: ${url}: ${String(error.message).replace(/\s*\n\s*/g, ' ')}\n`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(args.concurrency, urls.length) }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const items = db.prepare('SELECT COUNT(*) AS n FROM items').get().n;
  db.close();

  const usage = process.resourceUsage();
  const round = (value, digits) => Number(value.toFixed(digits));
  process.stdout.write(JSON.stringify({
    feeds: urls.length, ok, failed, items,
    seconds: round(seconds, 3),
    feeds_per_s: seconds > 0 ? round(urls.length / seconds, 1) : 0,
    items_per_s: seconds > 0 ? round(items / seconds, 1) : 0,
    cpu_s: round((usage.userCPUTime + usage.systemCPUTime) / 1e6, 2),
    peak_rss_mb: round(usage.maxRSS / 1024, 1),
  }) + '\n');
  return failed === 0 ? 0 : 1;
}

main().then((status) => { process.exitCode = status; }, (error) => {
  // A wrong command line or a file that cannot be read or written is told by its message; any
  // other error with its stack.
  const expected = error instanceof UsageError || typeof error.code === 'string';
  process.stderr.write(`node: ${expected ? error.message : error.stack}\n`);
  process.exitCode = 2;
});
