// The layout rules of src/ (README "Layout", .dependency-cruiser.cjs): imports point one way down
// the data path and form no cycle, and no hand-written source file grows past ~600 lines.

import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import extractDepcruiseConfig from 'dependency-cruiser/config-utl/extract-depcruise-config';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Files allowed past the line budget: generated code and single-purpose codecs. */
const LONG_FILES_ALLOWED = new Set([
  'src/wire/flatbuffers/generated/predict_generated.ts', // flatc output
  'src/wire/json/reader.ts', // one JSON tokenizer
  'src/wire/json/tfserving.ts', // one format: TF Serving's JSON
  'native/json_tfserving.cc', // the same format in C++ (a step-for-step port of tfserving.ts)
]);
const MAX_LINES = 620;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.(ts|cc|h)$/.test(name) ? [path] : [];
  });
}

describe('layout', () => {
  it('imports point one way and form no cycle (dependency-cruiser, .dependency-cruiser.cjs)', async () => {
    const configFile = join(ROOT, '.dependency-cruiser.cjs');
    const config = (await extractDepcruiseConfig(configFile)) as IConfiguration;
    const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
    const result = await cruise([join(ROOT, 'src')], { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true }, undefined, {
      tsConfig,
    });
    const output = result.output as ICruiseResult;
    const violations = output.summary.violations.map(
      (v) => `${v.rule.name}: ${relative(ROOT, v.from)} → ${relative(ROOT, v.to)}${v.cycle ? ` (cycle ${v.cycle.map((c) => relative(ROOT, c.name)).join(' → ')})` : ''}`,
    );
    expect(violations).toEqual([]);
    // the rule set is live: it cruised every module of src/
    expect(output.summary.totalCruised).toBeGreaterThan(60);
  });

  it(`no hand-written source file in src/ or native/ is longer than ${MAX_LINES} lines`, () => {
    const long = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'native'))]
      .map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter(({ file, lines }) => lines > MAX_LINES && !LONG_FILES_ALLOWED.has(file));
    expect(long).toEqual([]);
  });
});
