// Keeps a chart's minute buckets current between reads of GET /api/stats
// (which reads every message of the hour from the journal, so it is read
// seldom): the growth of the in-memory counters since the last look is
// added to the current minute.

const OUTCOMES = ['processed', 'filtered', 'rejected', 'failed'];
const MINUTE_MS = 60 * 1000;

export class LiveBuckets {
  constructor() {
    this.buckets = null;
    this.totals = null;
  }

  /** Starts again from the journal's buckets and the counters read with them. */
  reset(buckets, totals) {
    this.buckets = buckets.map((bucket) => ({ ...bucket }));
    this.totals = { ...totals };
  }

  /** Adds what the counters grew by; whether the buckets changed. */
  add(totals, now = Date.now()) {
    if (!this.buckets || !this.totals || this.buckets.length === 0) {
      return false;
    }
    let changed = false;
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    while (new Date(this.buckets.at(-1).start).getTime() < minute) {
      const start = new Date(new Date(this.buckets.at(-1).start).getTime() + MINUTE_MS).toISOString();
      this.buckets.push({ start, total: 0, processed: 0, filtered: 0, rejected: 0, failed: 0 });
      this.buckets.shift();
      changed = true;
    }
    const current = this.buckets.at(-1);
    for (const outcome of OUTCOMES) {
      // A restart of medbus starts its counters again: no negative growth.
      const grown = Math.max(0, (totals[outcome] ?? 0) - (this.totals[outcome] ?? 0));
      current[outcome] += grown;
      current.total += grown;
      changed ||= grown > 0;
    }
    this.totals = { ...totals };
    return changed;
  }
}
