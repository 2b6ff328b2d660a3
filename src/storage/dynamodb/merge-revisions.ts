/** Merging ordered revision streams (one per index lookup) into one, for reads over several values. */

/** Ordered revision streams merged into one ordered stream without repeats; the streams are closed when it is. */
export async function* mergeRevisions(streams: Array<AsyncGenerator<number>>, forward: boolean): AsyncGenerator<number> {
  const before = (a: number, b: number) => (forward ? a < b : a > b);
  try {
    const heads = await Promise.all(streams.map((s) => s.next()));
    let last: number | undefined;
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (h.done) continue;
        if (best < 0 || before(h.value, heads[best]!.value as number)) best = i;
      }
      if (best < 0) return;
      const revision = heads[best]!.value as number;
      heads[best] = await streams[best]!.next();
      if (revision !== last) {
        last = revision;
        yield revision;
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
}
