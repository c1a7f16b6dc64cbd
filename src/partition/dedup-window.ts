/**
 * The idempotency window of a partition: the position and version of the
 * last `size` events appended with a caller id, so a retry is answered with
 * the first commit's result instead of being stored twice. Oldest ids leave
 * first. Worker-local; rebuilt from the slots on restart.
 */
export class DedupWindow {
  private readonly seen = new Map<string, { position: number; version: number }>();
  private readonly order: string[] = [];
  private head = 0;

  constructor(private readonly size: number) {}

  /** The first commit of `id`, if it is still in the window. */
  get(id: string): { position: number; version: number } | undefined {
    return this.seen.get(id);
  }

  /** Records the commit of `id` (a repeat keeps the first). */
  remember(id: string, position: number, version: number): void {
    if (this.seen.has(id)) return;
    this.seen.set(id, { position, version });
    this.order.push(id);
    if (this.seen.size > this.size) {
      this.seen.delete(this.order[this.head++]);
      // Compact the order list now and then instead of shifting it per id.
      if (this.head > 65_536) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
  }
}
