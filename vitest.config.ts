import { defineConfig } from 'vitest/config';

// Tests run against the built package (dist/), the way users import it: worker
// threads need compiled JavaScript, and `npm test` builds first (pretest).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files that spawn worker threads run one at a time so their
    // timing-sensitive parts (wrap-around, kills) do not starve each other.
    fileParallelism: false,
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
