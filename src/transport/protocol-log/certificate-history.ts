// Which certificate a connector presented over time: the uses read from the
// logs, folded into runs of the same certificate, so a switch from the old to
// the renewed certificate shows as two runs. Memory grows with the number of
// changes, not of uses.

export interface CertificateUse<T> {
  /** The connector (and server) the use belongs to. */
  key: string;
  /** Uses of one segment (one log file) arrive in time order; segments may overlap or arrive out of order. */
  segment: string;
  at: Date;
  thumbprint: string;
  item: T;
}

export interface CertificateRun<T> {
  thumbprint: string;
  firstAt: Date;
  lastAt: Date;
  /** The use that started the run and the one that ended it. */
  first: T;
  last: T;
  uses: number;
}

export class CertificateHistory<T> {
  private readonly segments = new Map<string, Map<string, CertificateRun<T>[]>>();
  private order = 0;
  private readonly added = new WeakMap<CertificateRun<T>, number>();

  add(use: CertificateUse<T>): void {
    let byKey = this.segments.get(use.key);
    if (!byKey) this.segments.set(use.key, (byKey = new Map()));
    let runs = byKey.get(use.segment);
    if (!runs) byKey.set(use.segment, (runs = []));
    const last = runs.at(-1);
    if (last && last.thumbprint === use.thumbprint) {
      last.uses++;
      if (use.at.getTime() >= last.lastAt.getTime()) {
        last.lastAt = use.at;
        last.last = use.item;
      }
      if (use.at.getTime() < last.firstAt.getTime()) {
        last.firstAt = use.at;
        last.first = use.item;
      }
      this.added.set(last, this.order++);
      return;
    }
    const run: CertificateRun<T> = { thumbprint: use.thumbprint, firstAt: use.at, lastAt: use.at, first: use.item, last: use.item, uses: 1 };
    this.added.set(run, this.order++);
    runs.push(run);
  }

  keys(): string[] {
    return [...this.segments.keys()];
  }

  /** Every change of certificate for `key`, oldest first; runs of the same certificate that meet are one. */
  runs(key: string): CertificateRun<T>[] {
    const all = [...(this.segments.get(key)?.values() ?? [])].flat().sort((a, b) => a.firstAt.getTime() - b.firstAt.getTime());
    const merged: CertificateRun<T>[] = [];
    for (const r of all) {
      const prev = merged.at(-1);
      if (prev && prev.thumbprint === r.thumbprint) {
        prev.uses += r.uses;
        if (r.lastAt.getTime() >= prev.lastAt.getTime()) {
          prev.lastAt = r.lastAt;
          prev.last = r.last;
        }
      } else {
        merged.push({ ...r });
      }
    }
    return merged;
  }

  /** The run holding the latest use of `key` (on a tie, the use read last). */
  latest(key: string): CertificateRun<T> | undefined {
    let best: CertificateRun<T> | undefined;
    for (const r of [...(this.segments.get(key)?.values() ?? [])].flat()) {
      if (!best || r.lastAt.getTime() > best.lastAt.getTime() || (r.lastAt.getTime() === best.lastAt.getTime() && this.added.get(r)! > this.added.get(best)!)) best = r;
    }
    if (!best) return undefined;
    // Its start: where the merged run holding it began (the certificate may have been in use since an earlier file).
    const merged = this.runs(key).find((m) => m.thumbprint === best!.thumbprint && m.firstAt.getTime() <= best!.firstAt.getTime() && m.lastAt.getTime() >= best!.lastAt.getTime());
    return { ...best, firstAt: merged?.firstAt ?? best.firstAt, first: merged?.first ?? best.first, uses: merged?.uses ?? best.uses };
  }
}
