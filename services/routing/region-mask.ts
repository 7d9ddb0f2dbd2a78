// Region sets as bit masks, so "does any region fit" is one AND instead of nested string
// comparisons for every treaty on every decision. Region names get bits on first sight; there
// are few (a DNS label each, tens in practice). Past MAX_REGION_BITS names, masks involving a
// newcomer are INEXACT and the caller compares the lists instead. The bits live in a
// RegionBits owned by a RouterMemo (router-memo.ts): masks are comparable only between
// objects made with the same RegionBits.

/** Distinct region names that get a bit. */
export const MAX_REGION_BITS = 30;
/** The mask of "every region" (an omitted list). */
export const ANY_REGION = 2 ** MAX_REGION_BITS - 1;
/** The mask of a list with a region that has no bit: compare the lists instead. */
export const INEXACT = -1;

/** Assigns region names their bits, first come first served, up to MAX_REGION_BITS. */
export class RegionBits {
  readonly #bits = new Map<string, number>();

  /** The mask of a list of regions; ANY_REGION for undefined, INEXACT when a name has no bit. */
  mask(regions: readonly string[] | undefined): number {
    if (regions === undefined) return ANY_REGION;
    const bits = this.#bits;
    let mask = 0;
    for (const r of regions) {
      let bit = bits.get(r);
      if (bit === undefined) {
        if (bits.size >= MAX_REGION_BITS) return INEXACT;
        bit = 2 ** bits.size;
        bits.set(r, bit);
      }
      mask |= bit;
    }
    return mask;
  }
}
