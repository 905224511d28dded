import { builtInModules } from './catalog.js';
import { runCli } from './main.js';

await runCli(process.argv, builtInModules);
