import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every package that a module and its relative imports load at run time (type-only imports are erased). */
function runtimePackages(entry: string): { packages: Set<string>; files: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gms)) {
      const specifier = match[1] ?? match[2];
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
    }
  };
  visit(entry);
  return { packages, files };
}

describe('nestjs-outgoing-webhooks/receiver', () => {
  it("loads none of the sender's stack: only Node, @nestjs/common, @nestjs/core and rxjs", () => {
    const { packages, files } = runtimePackages(join(import.meta.dirname, 'index.ts'));
    expect(files.size).toBeGreaterThan(3); // the walk really followed the entry's imports
    const foreign = [...packages].filter((p) => !p.startsWith('node:') && !['@nestjs/common', '@nestjs/core', 'rxjs'].includes(p));
    expect(foreign).toEqual([]);
    expect(packages).toContain('@nestjs/common'); // positive control: the guard's imports are seen
  });

  it('the package root does load the sender stack (control for the check above)', () => {
    const { packages } = runtimePackages(join(import.meta.dirname, '..', 'index.ts'));
    for (const p of ['typeorm', '@nestjs/bull', 'axios']) expect(packages.has(p), p).toBe(true);
  });
});
