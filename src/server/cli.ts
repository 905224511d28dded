import { builtInModules } from './catalog.js';
import { runCli } from './main.js';

// No top-level await: the launcher runs this bundle as a CommonJS script (for V8's code cache).
void runCli(process.argv, builtInModules);
