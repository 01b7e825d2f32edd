import fs from 'node:fs';
import { defineConfig } from 'vitest/config';

// The webgpu tests (test/webgpu) run on SwiftShader, the software Vulkan driver of Debian's chromium, where
// no GPU driver is named (.ci/run sets the same; docs/webgpu.md).
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const gpuEnv: Record<string, string> = !process.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD) ? { VK_ICD_FILENAMES: SWIFTSHADER_ICD } : {};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: gpuEnv,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
