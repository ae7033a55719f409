"""The WAL frames of a SQLite journal by B-tree: each frame is one page a commit rewrote.
usage: wal_frames.py hold DB   -- holds a read snapshot until stdin closes, so no checkpoint resets the WAL
       wal_frames.py tally DB  -- frames per B-tree and per message (pages now free count as "?free/new")
"""
import sqlite3, struct, sys, collections
mode, db = sys.argv[1], sys.argv[2]
if mode == "hold":
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("BEGIN"); c.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    print("holding", flush=True); sys.stdin.read(); sys.exit(0)
wal = open(db + "-wal", "rb").read()
page_size = struct.unpack(">I", wal[8:12])[0]
frames = collections.Counter(); n = 0; off = 32
while off + 24 + page_size <= len(wal):
    pgno = struct.unpack(">I", wal[off:off+4])[0]
    frames[pgno] += 1; n += 1; off += 24 + page_size
c = sqlite3.connect(db)
owner = dict(c.execute("SELECT pageno, name FROM dbstat"))
msgs = c.execute("SELECT count(*) FROM messages").fetchone()[0]
dels = c.execute("SELECT count(*) FROM deliveries").fetchone()[0]
per = collections.Counter()
for p, k in frames.items(): per[owner.get(p, "?free/new")] += k
print(f"page_size {page_size}, frames {n} ({n*(page_size+24)/1e6:.1f} MB), messages {msgs}, deliveries {dels}, distinct pages {len(frames)}")
print(f"WAL bytes/message {n*(page_size+24)/max(msgs,1):.0f}")
for name, k in per.most_common():
    print(f"  {name:40s} {k:8d} frames  {k/max(msgs,1):6.2f}/msg")
