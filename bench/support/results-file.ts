import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes one bench's section of bench/RESULTS.md: `section` starts with its `## name` heading and
 * replaces the whole section of that name (up to the next `## ` heading), or is appended.
 */
export function writeResultsSection(name: string, section: string): void {
  const file = join(__dirname, '..', 'RESULTS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\n';
  const heading = `## ${name}\n`;
  if (!section.startsWith(heading)) throw new Error(`a RESULTS.md section must start with "${heading.trim()}"`);
  const re = new RegExp(`^## ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n[\\s\\S]*?(?=\\n## (?!#)|$(?![\\s\\S]))`, 'm');
  const next = re.test(current) ? current.replace(re, section.trimEnd() + '\n') : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
}
