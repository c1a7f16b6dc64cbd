// The bytes of a shared checkpoint (src/server/replication/checkpoint-codec.ts): the images come back as one
// buffer per partition, each exactly its image's size (a view into one buffer of all the images, sent to a
// worker, would copy every image to every partition), and a size other than the manifest's is refused.
import { describe, expect, it } from 'vitest';
import { packImages, unpackImages } from '../../dist/src/server/replication/checkpoint-codec.js';

const image = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Cuts `data` into chunks of `size` bytes, as messages would. */
const cut = (data: Uint8Array, size: number): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
};

describe('checkpoint codec', () => {
  for (const sizes of [[1000, 3000, 0, 70_000], [1], [0, 0], [65_536, 65_536]]) {
    it(`images of ${sizes.join(', ')} bytes come back each in a buffer of its own`, async () => {
      const images = sizes.map((n, i) => image(n, i));
      const packed = await packImages(images);
      expect(packed.sizes).toEqual(sizes);
      for (const chunk of [7, 4096, packed.data.length + 1]) {
        const back = await unpackImages(cut(packed.data, chunk), packed.sizes);
        expect(back.map((x) => [x.byteOffset, x.byteLength, x.buffer.byteLength])).toEqual(sizes.map((n) => [0, n, n]));
        expect(back).toEqual(images);
      }
    });
  }

  it('refuses images that decompress to more or fewer bytes than announced', async () => {
    const packed = await packImages([image(5000, 1), image(5000, 2)]);
    await expect(unpackImages([packed.data], [5000, 4999])).rejects.toThrow(/bytes/);
    await expect(unpackImages([packed.data], [5000, 5001])).rejects.toThrow(/bytes/);
    await expect(unpackImages([packed.data.subarray(0, 100)], [5000, 5000])).rejects.toThrow();
  });
});
