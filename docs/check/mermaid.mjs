// Every ```mermaid block in the README and docs/ must parse with Mermaid's own parser, the one
// GitHub renders them with: a diagram that does not parse shows as an error box, and would rot
// unseen. Mermaid wants a DOM even to parse, so jsdom provides one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSDOM } from 'jsdom';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
Object.defineProperty(globalThis, 'navigator', { value: dom.window.navigator, configurable: true });
const mermaid = (await import('mermaid')).default;

function markdownFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

// The diagrams of one Markdown text, with the line each starts on.
export function diagrams(text) {
  const found = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```mermaid') continue;
    const start = i + 1;
    const body = [];
    for (i = start; i < lines.length && lines[i].trim() !== '```'; i++) body.push(lines[i]);
    found.push({ line: start + 1, text: body.join('\n') });
  }
  return found;
}

const files = [path.join(root, 'README.md'), ...markdownFiles(path.join(root, 'docs'))];
let checked = 0;
let failed = 0;
for (const file of files) {
  for (const diagram of diagrams(fs.readFileSync(file, 'utf8'))) {
    checked++;
    try {
      await mermaid.parse(diagram.text);
    } catch (error) {
      failed++;
      console.error(`${path.relative(root, file)}:${diagram.line}: ${error.message ?? error}`);
    }
  }
}
// A check that found nothing to check would pass for ever: the design has a diagram.
if (checked === 0) {
  console.error('no Mermaid diagram found: docs/design.md should have one');
  process.exit(1);
}
console.log(`${checked} Mermaid diagram(s) parsed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
