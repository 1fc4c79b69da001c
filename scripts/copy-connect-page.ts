// Part of `npm run build`: tsc compiles TypeScript only, so the connect page's static files (HTML, script,
// stylesheet) are copied beside the compiled loader in dist/api/connect-page, where it reads them.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const from = path.resolve(__dirname, '../api/connect-page');
const to = path.resolve(__dirname, '../dist/api/connect-page');
mkdirSync(to, { recursive: true });
const copied = readdirSync(from).filter((name) => /\.(html|js|css)$/.test(name));
for (const name of copied) copyFileSync(path.join(from, name), path.join(to, name));
console.log(`connect page: copied ${copied.join(', ')} to ${path.relative(process.cwd(), to)}`);
