/**
 * The bytes of a shared checkpoint: the partitions' images gzip-compressed
 * one after the other, and back. Both directions stream, so that no copy of
 * all the images together is ever made: a late daemon receives one buffer per
 * partition (each handed to its worker whole, see EventStore.importImages),
 * and a writer holds only the compressed bytes while it uploads them.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

/** Compressed images, ready to be cut into messages. */
export interface Packed {
  readonly data: Buffer;
  /** Bytes of each partition's image, uncompressed. */
  readonly sizes: readonly number[];
  /** SHA-256 of `data`, hex. */
  readonly sha256: string;
}

/** Compresses the images (fast level: a checkpoint is rewritten every few thousand messages). */
export async function packImages(images: readonly Uint8Array[]): Promise<Packed> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(images.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)), { objectMode: false }),
    createGzip({ level: 1 }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) out.push(c);
    },
  );
  const data = Buffer.concat(out);
  return { data, sizes: images.map((x) => x.byteLength), sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * Decompresses `parts` (the compressed bytes in order) straight into one
 * buffer per image of `sizes`; more or fewer bytes than their sum is an error.
 * @throws Error on bad gzip data or another total size
 */
export async function unpackImages(parts: readonly Uint8Array[], sizes: readonly number[]): Promise<Uint8Array[]> {
  const images = sizes.map((n) => new Uint8Array(n));
  const total = sizes.reduce((a, b) => a + b, 0);
  let image = 0;
  let at = 0;
  let written = 0;
  await pipeline(
    Readable.from(parts.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)), { objectMode: false }),
    // Stops inflating a bomb (or a bad manifest) at the size the manifest announced.
    createGunzip({ maxOutputLength: Math.max(1, total) }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) {
        if (written + c.length > total) throw new Error(`the images have more than the ${total} bytes announced`);
        written += c.length;
        let from = 0;
        while (from < c.length) {
          while (at === images[image]!.length) {
            image++;
            at = 0;
          }
          const n = Math.min(c.length - from, images[image]!.length - at);
          images[image]!.set(c.subarray(from, from + n), at);
          at += n;
          from += n;
        }
      }
    },
  );
  if (written !== total) throw new Error(`the images have ${written} bytes, not the ${total} announced`);
  return images;
}
